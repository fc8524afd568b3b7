// /docs: Swagger UI over /openapi.json, from the vendored bundle (no CDN, no inline script).
/* global SwaggerUIBundle */
window.addEventListener("load", () => {
  SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
  });
});
