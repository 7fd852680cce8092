// Starts Swagger UI on /docs. It is a file of its own, not an inline script, so that the page's
// Content-Security-Policy can allow scripts from this server only. Served as is (not compiled).
'use strict';

(function start() {
  var root = document.getElementById('swagger-ui');
  window.ui = window.SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    deepLinking: true,
    // Shows how long each "Try it out" request took: callbacks are asynchronous, reads are not.
    displayRequestDuration: true,
    // Validation is done here by npm test; the default would send the contract to swagger.io.
    validatorUrl: null,
    // The key from "Authorize" lives in this page only: reloading forgets it.
    persistAuthorization: false,
  });
})();
