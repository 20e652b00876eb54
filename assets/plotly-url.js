// Load plotly.js from its versioned URL (cached by the browser for a year) rather than the unversioned one the Dash
// renderer sets, which the browser has to ask the server about on every page load. The server names the URL in a
// <meta> tag (portfolio.web.static_cache); without the tag, Dash's own URL is used.
(function () {
  const meta = document.querySelector('meta[name="portfolio-plotlyjs-url"]');
  if (!meta || !meta.content) {
    return;
  }
  const url = meta.content;
  Object.defineProperty(window, "_dashPlotlyJSURL", {
    configurable: true,
    get: function () {
      return url;
    },
    set: function () {},
  });
})();
