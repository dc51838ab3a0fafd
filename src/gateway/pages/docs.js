// Starts Swagger UI on the gateway's own OpenAPI document. Loaded as a file
// (not inline) so the page's Content-Security-Policy needs no 'unsafe-inline'.
"use strict";

window.addEventListener("DOMContentLoaded", function () {
  window.ui = SwaggerUIBundle({
    url: new URL("openapi.json", document.baseURI).href,
    dom_id: "#swagger-ui",
    deepLinking: true,
    // The default sends the document to an outside validator for a badge.
    validatorUrl: null,
    // Bodies of these types are files: show a file picker for them.
    fileUploadMediaTypes: [
      "application/octet-stream",
      "application/x-npy",
      "image/",
    ],
    displayRequestDuration: true,
    defaultModelsExpandDepth: 0,
    tryItOutEnabled: false,
  });
});
