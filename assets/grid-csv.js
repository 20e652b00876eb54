// "Download CSV" beside every table (web/components.py): export the grid's rows as shown, after filtering and sorting.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-grid-csv]");
  if (!button || !window.dash_ag_grid) return;
  const gridId = button.getAttribute("data-grid-csv");
  window.dash_ag_grid.getApiAsync(gridId).then((api) => api.exportDataAsCsv({ fileName: `${gridId}.csv` }));
});
