/* Portfolio pages: keep the address bar in step with the chosen group, dates and fuel (bookmarkable).
   replaceState, not pushState: Dash's router does not hear it, so the page is not rebuilt. */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  portfolio: {
    replaceSearch: function (search) {
      if (typeof search === "string" && search.charAt(0) === "?" && search !== window.location.search) {
        window.history.replaceState(window.history.state, "", window.location.pathname + search);
      }
      return window.dash_clientside.no_update;
    }
  }
});
