// Shell menus (client switcher, user menu) are <details>: close one once a link in it is followed, so the
// page that opens does not sit under a menu left open (Dash links navigate without reloading the shell).
document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest("details a");
  if (link) {
    const menu = link.closest("details");
    if (menu) menu.open = false;
  }
});
