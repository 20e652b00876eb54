/* Graphs page callbacks that run in the browser. Plotly sends relayoutData {autosize: true} once it has drawn a
   figure: forwarding it would run the whole graph callback a second time for nothing, so only user zooms pass. */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  graphs: {
    userRelayout: function (relayout) {
      if (!relayout || (Object.keys(relayout).length === 1 && relayout.autosize)) {
        return window.dash_clientside.no_update;
      }
      return relayout;
    },
    /* The site dropdown's value: the selection callback's choice (GRAPH_SITE_CHOICE) when it sends one, and the
       whole portfolio ("portfolio" is graphs_layout.WHOLE_PORTFOLIO) when the fuel is toggled, the shared selection
       (the URL's query, the shell's store) taking the new fuel. A toggle used to go through the server's selection
       callback, and the graph, profile and panel wait for every callback upstream of their inputs: two server
       rounds. Dash reports every input as triggered when the page's layout arrives: the query is not shared yet
       then, or already carries this fuel, and the fuel moves nothing. */
    chooseSite: function (choice, fuel, site, query, store) {
      var none = window.dash_clientside.no_update;
      var triggered = ((window.dash_clientside.callback_context || {}).triggered || []).map(function (t) {
        return t.prop_id;
      });
      var nextSite = none, nextQuery = none, nextStore = none;
      if (triggered.indexOf("graph-site-choice.data") >= 0 && typeof choice === "string") {
        nextSite = choice;
      }
      if (triggered.indexOf("graph-fuel.value") >= 0 && typeof query === "string" && query.charAt(0) === "?") {
        var params = new URLSearchParams(query);
        if (params.get("fuel") !== fuel) {
          params.set("fuel", fuel);
          nextQuery = "?" + params.toString();
          if (store && typeof store === "object" && store.query) {
            nextStore = Object.assign({}, store, {fuel: fuel, query: nextQuery});
          }
          if (nextSite === none && site && site !== "portfolio") {
            nextSite = "portfolio";
          }
        }
      }
      return [nextSite, nextQuery, nextStore];
    }
  }
});
