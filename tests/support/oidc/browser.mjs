// A real browser for webtier's login tests: Debian's chromium driven by
// playwright-core. Started by tests/it/support/oidc.rs (Browser::login):
//
//   node browser.mjs --url URL --login NAME --screenshot PATH
//                    [--map-host app.test] [--chromium /usr/bin/chromium]
//
// Opens URL (--map-host resolves to 127.0.0.1), signs in at oidc-provider's
// development login form as NAME, clicks through its consent page, waits
// for the page after login, saves a screenshot of it at PATH and prints one
// JSON line: { "url", "status", "text" } (the final URL, the HTTP status of
// its document, the page's visible text).

import { parseArgs } from 'node:util';

import { chromium } from 'playwright-core';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    login: { type: 'string' },
    screenshot: { type: 'string' },
    'map-host': { type: 'string', default: 'app.test' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
    timeout: { type: 'string', default: '30000' },
  },
});
for (const name of ['url', 'login', 'screenshot']) {
  if (!args[name]) {
    console.error(`browser.mjs: --${name} is required`);
    process.exit(2);
  }
}
const timeout = Number(args.timeout);

const browser = await chromium.launch({
  executablePath: args.chromium,
  headless: true,
  timeout,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    `--host-resolver-rules=MAP ${args['map-host']} 127.0.0.1`,
  ],
});
try {
  // The proxy's certificate comes from a CA minted by the test.
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  page.setDefaultTimeout(timeout);
  let status = null;
  page.on('response', (response) => {
    if (response.request().isNavigationRequest() && response.frame() === page.mainFrame()) {
      status = response.status();
    }
  });

  await page.goto(args.url, { waitUntil: 'load' });
  // The provider's pages: a login form, then a consent form (skipped by the
  // provider when it remembers the grant).
  for (let step = 0; step < 5; step += 1) {
    if (!new URL(page.url()).pathname.startsWith('/interaction/')) break;
    const before = page.url();
    const login = page.locator('input[name="login"]');
    if (await login.count()) {
      await login.fill(args.login);
      await page.locator('input[name="password"]').fill('any');
    }
    await page.locator('button[type="submit"]').first().click();
    await page.waitForURL((u) => u.href !== before, { waitUntil: 'load' });
  }
  await page.waitForLoadState('load');
  await page.screenshot({ path: args.screenshot, fullPage: true });
  const text = await page.evaluate(() => document.body?.innerText ?? '');
  console.log(JSON.stringify({ url: page.url(), status, text }));
} finally {
  await browser.close();
}
