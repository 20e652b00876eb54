/* Portfolio pages: keep the address bar in step with the chosen group, dates and fuel (bookmarkable).
   replaceState, not pushState: Dash's router does not hear it, so the page is not rebuilt. */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  portfolio: {
    replaceSearchWithSite: function (search, site) {
      /* The graph page adds the chosen site, so a link to one site's graph opens that site. */
      if (typeof search !== "string" || search.charAt(0) !== "?") {
        return window.dash_clientside.no_update;
      }
      var params = new URLSearchParams(search);
      if (site && site !== "portfolio") {
        params.set("site", site);
      } else {
        params.delete("site");
      }
      var next = "?" + params.toString();
      if (next !== window.location.search) {
        window.history.replaceState(window.history.state, "", window.location.pathname + next);
      }
      return window.dash_clientside.no_update;
    },
    replaceSearch: function (search) {
      if (typeof search === "string" && search.charAt(0) === "?" && search !== window.location.search) {
        window.history.replaceState(window.history.state, "", window.location.pathname + search);
      }
      return window.dash_clientside.no_update;
    }
  }
});
