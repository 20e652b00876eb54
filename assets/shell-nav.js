/* The shell's navigation: mark the link of the page on screen, so people always know where they are. In the
   browser: the server knows nothing about it that the address bar does not (web/shell.py). */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  shell: {
    markActiveLink: function (pathname, linkIds) {
      var here = pathname || "/";
      return (linkIds || []).map(function (link) {
        return link && link.path === here ? "nav-link active" : "nav-link";
      });
    }
  }
});
