#!/usr/bin/env node
// Accessibility check: loads pages in headless Chromium (Debian's /usr/bin/chromium, never a
// downloaded browser), injects axe-core, runs the WCAG 2.0/2.1 A and AA rules and prints every
// violation of impact "serious" or "critical". Exits 1 when there is any, 2 on a usage or
// loading error, 0 when every page passes.
//
//   node check.mjs [options] [URL ...]
//
//   --pages FILE        JSON list of pages: [{"url": "...", "label": "admin /admin",
//                       "cookie": "name=value; name2=value2", "status": 200, "phone": true}]
//                       ("cookie", "label", "status" (expected, default 200) and "phone" (also
//                       check at phone width) are optional); URLs given as arguments are added
//   --scheme S          light | dark | both (default light): emulates prefers-color-scheme,
//                       which is how the theme picks its dark variant (style.css)
//   --phone WxH         viewport for the pages marked "phone" (default 390x844); --all-phone
//                       checks every page at phone width as well
//   --screenshots DIR   also save a full-page PNG of every page checked
//   --chromium PATH     browser binary (default $CHROMIUM or /usr/bin/chromium)
//   --jobs N            tabs checking pages at once (default 1: on two cores one tab, reused
//                       for the pages of one visitor, scheme and width, is quickest)
//   --verbose           list what axe could not decide ("incomplete", e.g. text on a gradient
//                       or a one-character badge) as well
//
// The theme has no per-user or cookie setting: the site-wide theme is an admin setting, and
// the only light/dark switch is the prefers-color-scheme media query.

import { readFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import puppeteer from "puppeteer-core";

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
const FAILING = new Set(["serious", "critical"]);
const DESKTOP = { width: 1280, height: 900 };
const LAUNCH_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--no-first-run",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
];

function usage(message) {
  if (message) console.error(`check.mjs: ${message}`);
  console.error(
    "usage: node check.mjs [--pages FILE] [--scheme light|dark|both] [--phone WxH] [--all-phone]\n" +
      "                      [--screenshots DIR] [--chromium PATH] [--jobs N] [--verbose] [URL ...]",
  );
  process.exit(2);
}

function parseArgs(argv) {
  const opts = {
    pages: [],
    schemes: ["light"],
    phone: { width: 390, height: 844, isMobile: true, hasTouch: true },
    allPhone: false,
    screenshots: null,
    chromium: process.env.CHROMIUM || "/usr/bin/chromium",
    verbose: false,
    jobs: 1,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`);
      return argv[++i];
    };
    switch (arg) {
      case "--pages": {
        const file = value();
        let list;
        try {
          list = JSON.parse(readFileSync(file, "utf8"));
        } catch (e) {
          usage(`cannot read ${file}: ${e.message}`);
        }
        if (!Array.isArray(list)) usage(`${file} is not a JSON list`);
        for (const p of list) {
          if (!p || typeof p.url !== "string") usage(`${file}: every page needs a "url"`);
          opts.pages.push(p);
        }
        break;
      }
      case "--scheme": {
        const s = value();
        if (s === "both") opts.schemes = ["light", "dark"];
        else if (s === "light" || s === "dark") opts.schemes = [s];
        else usage(`unknown scheme ${s}`);
        break;
      }
      case "--phone": {
        const m = /^(\d+)x(\d+)$/.exec(value());
        if (!m) usage("--phone takes WIDTHxHEIGHT, e.g. 390x844");
        opts.phone = { width: Number(m[1]), height: Number(m[2]), isMobile: true, hasTouch: true };
        break;
      }
      case "--all-phone":
        opts.allPhone = true;
        break;
      case "--screenshots":
        opts.screenshots = value();
        break;
      case "--chromium":
        opts.chromium = value();
        break;
      case "--jobs": {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1) usage("--jobs takes a positive number");
        opts.jobs = n;
        break;
      }
      case "--verbose":
        opts.verbose = true;
        break;
      case "-h":
      case "--help":
        usage();
        break;
      default:
        if (arg.startsWith("--")) usage(`unknown option ${arg}`);
        opts.pages.push({ url: arg });
    }
  }
  if (opts.pages.length === 0) usage("no pages given");
  return opts;
}

/** "a=b; c=d" -> [{name: "a", value: "b"}, ...] */
function parseCookieHeader(header) {
  return (header || "")
    .split(";")
    .map((part) => part.trim())
    .filter((part) => part.includes("="))
    .map((part) => {
      const at = part.indexOf("=");
      return { name: part.slice(0, at).trim(), value: part.slice(at + 1).trim() };
    });
}

function labelOf(page) {
  if (page.label) return page.label;
  try {
    const u = new URL(page.url);
    return u.pathname + u.search;
  } catch {
    return page.url;
  }
}

function shorten(text, max = 160) {
  const t = String(text || "").replace(/\s+/g, " ").trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/** The most telling message axe gives for one failing element. */
function nodeSummary(node) {
  const checks = [...(node.any || []), ...(node.all || []), ...(node.none || [])];
  const message = checks.map((c) => c.message).find(Boolean);
  return shorten(message || node.failureSummary || "");
}

/** A tab for one visitor (cookies), colour scheme and viewport, with axe injected into every
 * document it loads; pages of the same kind reuse it, which keeps the check quick. */
async function openTab(browser, job) {
  const context = await browser.createBrowserContext();
  const tab = await context.newPage();
  await tab.setViewport(job.viewport);
  await tab.emulateMediaFeatures([{ name: "prefers-color-scheme", value: job.scheme }]);
  const cookies = parseCookieHeader(job.page.cookie);
  if (cookies.length > 0) {
    await context.setCookie(...cookies.map((c) => ({ ...c, url: job.page.url })));
  }
  // Injected through the DevTools protocol, so a Content-Security-Policy cannot block it.
  await tab.evaluateOnNewDocument(AXE_SOURCE);
  return { context, tab };
}

async function checkPage(tab, job, opts) {
  const { page, scheme, viewport } = job;
  const response = await tab.goto(page.url, { waitUntil: "load", timeout: 30000 });
  const status = response ? response.status() : 0;
  const expected = page.status ?? 200;
  const problems = [];
  if (status !== expected) {
    problems.push(`HTTP status ${status}, expected ${expected} (final URL ${tab.url()})`);
  }
  const results = await tab.evaluate(
    (tags) =>
      // eslint-disable-next-line no-undef
      axe.run(document, {
        runOnly: { type: "tag", values: tags },
        resultTypes: ["violations", "incomplete"],
      }),
    TAGS,
  );
  if (opts.screenshots) {
    mkdirSync(opts.screenshots, { recursive: true });
    const name = `${labelOf(page)}-${scheme}-${viewport.width}`
      .replace(/[^A-Za-z0-9._-]+/g, "_")
      .replace(/^_+/, "");
    await tab.screenshot({ path: path.join(opts.screenshots, `${name}.png`), fullPage: true });
  }
  return { status, problems, results };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const browser = await puppeteer.launch({
    executablePath: opts.chromium,
    headless: "shell", // plain --headless (the new headless mode in current Chromium)
    args: LAUNCH_ARGS,
    defaultViewport: DESKTOP,
  });
  // Every (scheme, page, viewport) is a job. Jobs of one visitor, scheme and viewport share a
  // browser context (visitors never share cookies); a few run at once; the report keeps the
  // order of the list.
  const jobs = [];
  for (const scheme of opts.schemes) {
    for (const page of opts.pages) {
      jobs.push({ scheme, page, viewport: DESKTOP });
      if (page.phone || opts.allPhone) jobs.push({ scheme, page, viewport: opts.phone });
    }
  }
  const reports = new Array(jobs.length);
  const keyOf = (job) => `${job.page.cookie || ""}\n${job.scheme}\n${job.viewport.width}`;
  const queue = jobs.map((job, i) => ({ job, i, key: keyOf(job) }));
  queue.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.i - b.i));
  let next = 0;
  const worker = async () => {
    let current = null;
    try {
      while (next < queue.length) {
        const { job, i, key } = queue[next++];
        const where = `${labelOf(job.page)} [${job.scheme}, ${job.viewport.width}px]`;
        try {
          if (!current || current.key !== key) {
            if (current) await current.context.close();
            current = null;
            current = { key, ...(await openTab(browser, job)) };
          }
          reports[i] = { where, ...(await checkPage(current.tab, job, opts)) };
        } catch (e) {
          reports[i] = { where, error: shorten(e.message, 300) };
          if (current) await current.context.close().catch(() => {});
          current = null;
        }
      }
    } finally {
      if (current) await current.context.close().catch(() => {});
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(opts.jobs, jobs.length) }, worker));
  } finally {
    await browser.close();
  }

  let violations = 0;
  let errors = 0;
  const perPage = [];
  for (const report of reports) {
    const { where } = report;
    if (report.error) {
      errors++;
      console.log(`ERROR ${where}: ${report.error}`);
      continue;
    }
    for (const problem of report.problems) {
      errors++;
      console.log(`ERROR ${where}: ${problem}`);
    }
    let count = 0;
    for (const v of report.results.violations) {
      if (!FAILING.has(v.impact)) continue;
      for (const node of v.nodes) {
        count++;
        console.log(
          `${v.impact.toUpperCase()} ${v.id} on ${where}\n` +
            `    target: ${node.target.join(" ")}\n` +
            `    html:   ${shorten(node.html, 200)}\n` +
            `    ${nodeSummary(node)}\n` +
            `    (${v.help}; ${v.helpUrl})`,
        );
      }
    }
    violations += count;
    perPage.push({ where, count });
    if (opts.verbose) {
      for (const inc of report.results.incomplete) {
        for (const node of inc.nodes) {
          console.log(
            `  needs review: ${inc.id} on ${where}: ${node.target.join(" ")}: ${nodeSummary(node)}`,
          );
        }
      }
    }
  }
  console.log("\nserious/critical violations per page:");
  for (const { where, count } of perPage) console.log(`  ${String(count).padStart(3)}  ${where}`);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(
    `\naxe-core ${JSON.parse(readFileSync(require.resolve("axe-core/package.json"), "utf8")).version}` +
      ` (${TAGS.join(", ")}): ${jobs.length} page loads, ${violations} serious/critical violations,` +
      ` ${errors} errors, ${seconds}s`,
  );
  process.exit(errors > 0 ? 2 : violations > 0 ? 1 : 0);
}

main().catch((e) => {
  console.error(`check.mjs: ${e.stack || e}`);
  process.exit(2);
});
