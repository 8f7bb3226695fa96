// The browser half of tests/tests/browser.rs: drives Debian's Chromium (playwright-core, no
// browser download) through the preference centre as a customer would, and prints on stdout one
// JSON object with what the pages showed. It asserts nothing itself: the Rust test does, and also
// checks the store. Reads its scenario as JSON on stdin:
//
//   {"chromium": "/usr/bin/chromium", "screenshot_dir": "…",
//    "customers": [{"name": "de", "browser_locale": "de-DE",
//                   "settings_url": "…/p/…", "unsubscribe_url": "…/u/…",
//                   "submit": "click" | "keyboard", "one_click": "urlencoded" | "multipart",
//                   "cross_site": true, "stale_tab": true,
//                   "choose": {"topics": {"topic_newsletter": false, …}, "frequency": "monthly",
//                              "pause_until": "2027-04-30", "time_zone": "",
//                              "birthday": {"day": "14", "month": "7", "year": "1990"}}}]}
//
// Every wait is bounded (STEP_MS), and the whole run too (RUN_MS), so a hung browser fails the
// test instead of hanging CI.

import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const STEP_MS = 10_000;
const RUN_MS = 90_000;
// Without these Chromium tries to reach Google's services, which a closed network makes fail.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const TOPICS = ['topic_newsletter', 'topic_offers', 'topic_birthday', 'topic_points_news'];

const watchdog = setTimeout(() => {
  console.error(`preferences.mjs: still running after ${RUN_MS} ms, giving up`);
  process.exit(3);
}, RUN_MS);

// What the page shows: its language, heading, notes and the form's current state, as the DOM has
// it (what the browser would post), not as the HTML was sent.
async function state(page) {
  return page.evaluate((topics) => {
    const form = document.querySelector('form[method="post"]');
    const value = (name) => form?.elements.namedItem(name)?.value ?? null;
    const text = (selector) => document.querySelector(selector)?.textContent.trim() ?? null;
    return {
      url: location.pathname + location.search,
      lang: document.documentElement.lang,
      title: document.title,
      h1: text('h1'),
      saved: text('.saved[role="status"]'),
      alert: text('.error[role="alert"]'),
      paragraphs: [...document.querySelectorAll('main > p')].map((p) => p.textContent.trim()),
      topics: Object.fromEntries(topics.map((name) => [name, form?.elements.namedItem(name)?.checked ?? null])),
      frequency: form?.querySelector('input[name="frequency"]:checked')?.value ?? null,
      pause_until: value('pause_until'),
      birthday: { day: value('birthday_day'), month: value('birthday_month'), year: value('birthday_year') },
      time_zone: value('time_zone'),
      revision: value('revision'),
    };
  }, TOPICS);
}

// Sets the form with the mouse (clicks, fills) or the keyboard alone (Space on boxes and radio
// buttons, typing into the fields), as a customer who cannot use a mouse would.
async function choose(page, choice, keyboard) {
  for (const [name, on] of Object.entries(choice.topics)) {
    const box = page.locator(`input[name="${name}"]`);
    if ((await box.isChecked()) !== on) {
      if (keyboard) {
        await box.focus();
        await page.keyboard.press('Space');
      } else {
        await box.click();
      }
    }
  }
  const radio = page.locator(`input[name="frequency"][value="${choice.frequency}"]`);
  if (keyboard) {
    await radio.focus();
    await page.keyboard.press('Space');
  } else {
    await radio.click();
  }
  // A date input's segments follow the browser's locale; filling it is what both kinds of
  // customer end up with.
  await page.locator('#pause_until').fill(choice.pause_until);
  for (const part of ['day', 'month', 'year']) {
    const field = page.locator(`#birthday_${part}`);
    if (keyboard) {
      await field.focus();
      await page.keyboard.press('ControlOrMeta+A');
      await page.keyboard.press('Backspace');
      await page.keyboard.type(choice.birthday[part]);
    } else {
      await field.fill(choice.birthday[part]);
    }
  }
  await page.locator('#time_zone').selectOption(choice.time_zone);
}

// Submits the settings form and waits for the answer to the POST and the page that follows it.
// Returns the POST's status, the headers the browser sent with it, and where keyboard focus was
// when Enter was pressed.
async function submit(page, settingsUrl, keyboard) {
  const posted = page.waitForResponse(
    (r) => r.request().method() === 'POST' && r.url().startsWith(settingsUrl),
    { timeout: STEP_MS },
  );
  // The document that answers: the page the 303 leads to, or the refusal itself.
  const loaded = page.waitForEvent('load', { timeout: STEP_MS });
  let focused = null;
  if (keyboard) {
    // From the last field, Tab must reach the save button.
    await page.locator('#time_zone').focus();
    await page.keyboard.press('Tab');
    focused = await page.evaluate(() => {
      const el = document.activeElement;
      return { tag: el?.tagName.toLowerCase() ?? null, type: el?.getAttribute('type') ?? null, text: el?.textContent.trim() ?? null };
    });
    await page.keyboard.press('Enter');
  } else {
    await page.locator('form[method="post"] button[type="submit"]').click();
  }
  const response = await posted;
  await loaded;
  const headers = await response.request().allHeaders();
  return {
    status: response.status(),
    location: (await response.allHeaders()).location ?? null,
    focused,
    sent: {
      origin: headers.origin ?? null,
      sec_fetch_site: headers['sec-fetch-site'] ?? null,
      content_type: headers['content-type'] ?? null,
      referer: headers.referer ?? null,
    },
  };
}

// Another site's page with a copy of the form, the right csrf field included (as if it had
// leaked), posting to the settings link: the browser says where it came from, and the server
// must refuse. Served by Playwright at a different host of this machine, so nothing leaves it.
async function crossSite(context, settingsUrl, form) {
  const page = await context.newPage();
  const elsewhere = `http://localhost:${new URL(settingsUrl).port}/elsewhere`;
  await page.route(elsewhere, (route) =>
    route.fulfill({
      contentType: 'text/html; charset=utf-8',
      body: `<!doctype html><form method="post" action="${settingsUrl}">
        <input type="hidden" name="csrf" value="${form.csrf}">
        <input type="hidden" name="revision" value="${form.revision}">
        <input type="hidden" name="frequency" value="weekly">
        <button type="submit">Win a prize</button></form>`,
    }),
  );
  await page.goto(elsewhere);
  // Interception would hide the headers the network stack adds (Sec-Fetch-*): off for the POST.
  await page.unrouteAll();
  const posted = page.waitForResponse((r) => r.request().method() === 'POST', { timeout: STEP_MS });
  await page.locator('button').click();
  const response = await posted;
  const headers = await response.request().allHeaders();
  const result = {
    status: response.status(),
    body: (await response.text()).trim(),
    sec_fetch_site: headers['sec-fetch-site'] ?? null,
    origin: headers.origin ?? null,
  };
  await page.close();
  return result;
}

// RFC 8058's one-click request as a mail provider makes it: a plain POST of the header's URL,
// no cookie, no browser. `multipart` is the RFC's own example; `urlencoded` what most send.
async function oneClick(url, kind) {
  const body = kind === 'multipart' ? (() => {
    const form = new FormData();
    form.set('List-Unsubscribe', 'One-Click');
    return form;
  })() : new URLSearchParams({ 'List-Unsubscribe': 'One-Click' });
  const response = await fetch(url, { method: 'POST', body, redirect: 'manual', signal: AbortSignal.timeout(STEP_MS) });
  return { status: response.status, content_type: response.headers.get('content-type'), body: (await response.text()).trim() };
}

async function visit(context, customer, screenshotDir) {
  const result = { name: customer.name };
  const page = await context.newPage();
  const requests = [];
  page.on('request', (r) => requests.push(`${r.method()} ${new URL(r.url()).pathname}`));

  const opened = await page.goto(customer.settings_url);
  result.opened = { status: opened?.status() ?? null, ...(await state(page)) };

  if (customer.cross_site) {
    const form = await page.evaluate(() => ({
      csrf: document.querySelector('input[name="csrf"]').value,
      revision: document.querySelector('input[name="revision"]').value,
    }));
    result.cross_site = await crossSite(context, customer.settings_url, form);
  }

  const keyboard = customer.submit === 'keyboard';
  await choose(page, customer.choose, keyboard);
  result.submitted = await submit(page, customer.settings_url, keyboard);
  result.saved = await state(page);

  requests.length = 0;
  const reloaded = await page.reload();
  result.reloaded = { status: reloaded?.status() ?? null, requests: [...requests], ...(await state(page)) };
  const file = join(screenshotDir, `preferences-${customer.name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  result.screenshot = file;

  await page.goto(customer.settings_url);
  result.reopened = await state(page);

  const stale = customer.stale_tab ? await context.newPage() : null;
  if (stale) await stale.goto(customer.settings_url);

  result.one_click = await oneClick(customer.unsubscribe_url, customer.one_click);
  await page.reload();
  result.after_unsubscribe = await state(page);

  if (stale) {
    // A tab opened before the unsubscribe, saved after it: nothing is written, the page says so
    // and shows what is stored now.
    await stale.locator(`input[name="frequency"][value="weekly"]`).click();
    result.stale = { ...(await submit(stale, customer.settings_url, false)), ...(await state(stale)) };
    await stale.close();
  }

  // The language links at the foot of every page.
  const other = result.opened.lang === 'de' ? 'en' : 'de';
  await page.locator(`nav a[hreflang="${other}"]`).click();
  await page.waitForURL(new RegExp(`lang=${other}`), { timeout: STEP_MS });
  result.switched = await state(page);
  await page.close();
  return result;
}

// Chromium in the customer's language, with a fresh, empty profile (nothing from an earlier run,
// no first-run work). On Linux its locale (the date field's format, Accept-Language) comes from
// LANGUAGE; Debian's chromium-l10n has the locales. Returns the context and a function that
// closes it and removes the profile.
async function launch(executablePath, locale) {
  const profile = mkdtempSync(join(tmpdir(), 'stammkunde-chromium-'));
  const posix = locale.replace('-', '_');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
    env: { ...process.env, LANGUAGE: posix, LANG: `${posix}.UTF-8` },
    locale,
    viewport: { width: 760, height: 900 },
    timeout: STEP_MS,
  });
  context.setDefaultTimeout(STEP_MS);
  const close = async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, close };
}

async function main() {
  const scenario = JSON.parse(readFileSync(0, 'utf8'));
  mkdirSync(scenario.screenshot_dir, { recursive: true });
  const started = Date.now();
  let browser = null;
  const customers = [];
  for (const customer of scenario.customers) {
    const { context, close } = await launch(scenario.chromium, customer.browser_locale);
    try {
      // A persistent context has no Browser object to ask; the DevTools protocol answers.
      const first = await context.newPage();
      ({ product: browser } = await (await context.newCDPSession(first)).send('Browser.getVersion'));
      await first.close();
      customers.push(await visit(context, customer, scenario.screenshot_dir));
    } finally {
      await close();
    }
  }
  process.stdout.write(`${JSON.stringify({ browser, elapsed_ms: Date.now() - started, customers })}\n`);
  clearTimeout(watchdog);
}

main().catch((error) => {
  console.error(`preferences.mjs: ${error.stack ?? error}`);
  process.exit(1);
});
