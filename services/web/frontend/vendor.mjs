// Copies the pinned charting library's self-contained ES module build (fancy-canvas bundled
// in) from node_modules into the web service's static folder. The copy is committed, so the
// service runs on a machine without node; re-run after bumping the version in package.json:
//   npm ci && npm run vendor
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const pkgDir = join(here, "node_modules", "lightweight-charts");
const outDir = join(here, "..", "liqmon_web", "static", "vendor");
const { version } = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));

mkdirSync(outDir, { recursive: true });
const files = [
  ["dist/lightweight-charts.standalone.production.mjs", "lightweight-charts.mjs"],
  ["LICENSE", "lightweight-charts.LICENSE.txt"],
];
for (const [from, to] of files) {
  copyFileSync(join(pkgDir, from), join(outDir, to));
  console.log(`lightweight-charts ${version}: ${from} -> static/vendor/${to}`);
}

// Swagger UI for /docs, served by the web service itself (FastAPI's default loads it from a
// CDN, which an offline or firewalled deployment cannot reach).
const swaggerDir = join(here, "node_modules", "swagger-ui-dist");
const swaggerOut = join(outDir, "swagger");
const swaggerVersion = JSON.parse(readFileSync(join(swaggerDir, "package.json"), "utf8")).version;
mkdirSync(swaggerOut, { recursive: true });
for (const name of ["swagger-ui-bundle.js", "swagger-ui.css", "LICENSE"]) {
  copyFileSync(join(swaggerDir, name), join(swaggerOut, name));
  console.log(`swagger-ui-dist ${swaggerVersion}: ${name} -> static/vendor/swagger/${name}`);
}
