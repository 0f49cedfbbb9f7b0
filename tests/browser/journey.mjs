// Drives Debian's headless Chromium through a page that loads analytics.js (the npm package's
// UMD bundle, served from localhost) and runs a shopper's journey against the collector.
// Usage: node journey.mjs PAGE_URL CHROMIUM_PATH USER_DATA_DIR
// Prints one JSON line: the page's result, requests that tried to leave localhost, console lines.
import { chromium } from "playwright-core";

const [url, executablePath, userDataDir] = process.argv.slice(2);
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath,
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const outside = [];
const consoleLines = [];
try {
  await context.route("**/*", (route) => {
    const host = new URL(route.request().url()).hostname;
    if (host === "127.0.0.1" || host === "localhost") return route.continue();
    outside.push(route.request().url());
    return route.abort();
  });
  const page = await context.newPage();
  page.on("console", (message) => consoleLines.push(`${message.type()}: ${message.text()}`));
  page.on("pageerror", (error) => consoleLines.push(`pageerror: ${error.message}`));
  await page.goto(url);
  await page.waitForFunction(() => window.__result !== undefined, null, { timeout: 60000 });
  const result = await page.evaluate(() => window.__result);
  console.log(JSON.stringify({ ...result, outside, console: consoleLines }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: String(error), outside, console: consoleLines }));
} finally {
  await context.close();
}
