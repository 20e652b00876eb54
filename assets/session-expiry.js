/* When the session ends (expiry, logout in another tab, deactivated account), Dash callbacks start getting
 * 401 responses; send the browser to the sign-in page instead of leaving a silently broken dashboard.
 */
(function () {
  "use strict";
  var originalFetch = window.fetch;
  if (typeof originalFetch !== "function") {
    return;
  }

  window.fetch = function (input, init) {
    return originalFetch.call(this, input, init).then(function (response) {
      var sameOrigin = false;
      try {
        sameOrigin = new URL(response.url, window.location.href).origin === window.location.origin;
      } catch (error) {
        sameOrigin = false;
      }
      if (response.status === 401 && sameOrigin && window.location.pathname !== "/login") {
        var next = window.location.pathname + window.location.search;
        window.location.assign("/login?next=" + encodeURIComponent(next));
      }
      return response;
    });
  };
})();
