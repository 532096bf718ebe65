"""What the tests and the benchmarks both drive Footnote with; neither imports the other, both import this.

- server: a real `footnote serve` in a subprocess on a free port;
- browser: Chromium under Playwright, a fake model on loopback, host pages and the XSS payloads for the widget;
- crasher, corruption, concurrency, hostile_requests: the reliability drivers (kill -9 a writer, damage a store,
  change the corpus under load, send malformed requests) that a test runs small and bench/ runs large;
- results_tables, results_markdown, reliability_report: bench/'s figures as markdown, testable without measuring;
- provenance: the machine and commit every report records.

Import the module you need (`from harness.server import footnote_server`): this package imports nothing
itself, so a test that starts a server does not load Playwright.
"""
