/* Send the CSRF token with every same-origin state-changing fetch.
 *
 * The server sets a readable `_csrf_token` cookie on signed-in pages and refuses POST/PUT/PATCH/DELETE
 * without a matching `X-CSRFToken` header. The Dash renderer already sends it for callbacks; this covers
 * every other fetch (components, future scripts). Cross-origin requests never get the token.
 */
(function () {
  "use strict";
  var COOKIE = "_csrf_token";
  var HEADER = "X-CSRFToken";
  var SAFE_METHODS = /^(GET|HEAD|OPTIONS|TRACE)$/i;
  var originalFetch = window.fetch;
  if (typeof originalFetch !== "function") {
    return;
  }

  function readCookie(name) {
    var pairs = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < pairs.length; i++) {
      var at = pairs[i].indexOf("=");
      if (pairs[i].slice(0, at) === name) {
        return decodeURIComponent(pairs[i].slice(at + 1));
      }
    }
    return null;
  }

  function isSameOrigin(url) {
    try {
      return new URL(url, window.location.href).origin === window.location.origin;
    } catch (error) {
      return false;
    }
  }

  window.fetch = function (input, init) {
    var isRequest = typeof Request !== "undefined" && input instanceof Request;
    var method = (init && init.method) || (isRequest ? input.method : "GET");
    var url = isRequest ? input.url : String(input);
    var token = readCookie(COOKIE);
    if (token && !SAFE_METHODS.test(method) && isSameOrigin(url)) {
      var headers = new Headers((init && init.headers) || (isRequest ? input.headers : undefined));
      if (!headers.has(HEADER)) {
        headers.set(HEADER, token);
      }
      init = Object.assign({}, init, { headers: headers });
    }
    return originalFetch.call(this, input, init);
  };
})();
