/* Graphs page: pass only user zooms on to the server. Plotly sends relayoutData {autosize: true} once it has
   drawn a figure; forwarding it would run the whole graph callback a second time for nothing. */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  graphs: {
    userRelayout: function (relayout) {
      if (!relayout || (Object.keys(relayout).length === 1 && relayout.autosize)) {
        return window.dash_clientside.no_update;
      }
      return relayout;
    }
  }
});
