extension StatusPage {
    /// The page's HTML: the frame the script fills. No inline script or style, so the page's
    /// `Content-Security-Policy` can forbid both. `{{auth}}` becomes `bearer` or `none`: whether the page must ask
    /// for a token before it reads anything (so it never meets a 401 on the way).
    static let document = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="toolhost-auth" content="{{auth}}">
        <title>toolhost</title>
        <link rel="icon" href="data:,">
        <link rel="stylesheet" href="/status.css">
        <script src="/status.js" defer></script>
        </head>
        <body>
        <header>
          <h1>toolhost</h1>
          <span id="connection" class="badge">connecting</span>
          <span id="updated" class="muted"></span>
        </header>
        <form id="login" hidden>
          <p>This daemon wants a bearer token. It is kept in this tab only (session storage) and sent in the
          <code>Authorization</code> header, never in a URL.</p>
          <label>Token <input id="token" type="password" autocomplete="off" required></label>
          <button type="submit">Show the status</button>
          <p id="login-error" class="error-text"></p>
        </form>
        <main id="status" hidden>
          <section class="figures">
            <div class="figure"><span class="label">calls / s</span>
              <span id="rate" class="value">–</span></div>
            <div class="figure"><span class="label">in flight</span>
              <span id="in-flight" class="value">–</span></div>
            <div class="figure"><span class="label">queued</span>
              <span id="queued" class="value">–</span></div>
            <div class="figure"><span class="label">calls since start</span>
              <span id="total" class="value">–</span></div>
            <div class="figure"><span class="label">errors, last minute</span>
              <span id="errors-minute" class="value">–</span></div>
            <div class="figure"><span class="label">cache hit ratio</span>
              <span id="hit-ratio" class="value">–</span></div>
            <div class="figure"><span class="label">resident memory</span>
              <span id="memory" class="value">–</span></div>
            <div class="figure"><span class="label">uptime</span>
              <span id="uptime" class="value">–</span></div>
          </section>
          <section class="charts">
            <figure><figcaption>calls per second</figcaption><svg id="rate-chart" class="chart"
              viewBox="0 0 300 100" preserveAspectRatio="none" role="img" aria-label="calls per second"></svg></figure>
            <figure><figcaption>latency of the slowest tools (p50 and p99, ms)</figcaption><svg id="latency-chart"
              class="chart" viewBox="0 0 300 100" preserveAspectRatio="none" role="img"
              aria-label="latency"></svg></figure>
            <figure><figcaption>resident memory</figcaption><svg id="memory-chart" class="chart"
              viewBox="0 0 300 100" preserveAspectRatio="none" role="img" aria-label="memory"></svg></figure>
          </section>
          <section>
            <h2>Plugins</h2>
            <table id="plugins"><thead><tr><th>plugin</th><th>version</th><th>state</th><th>isolation</th>
              <th>tools</th><th>calls</th><th>errors</th><th>workers' memory</th><th>problem</th></tr></thead>
              <tbody></tbody></table>
          </section>
          <section>
            <h2>Tools</h2>
            <table id="tools"><thead><tr><th>tool</th><th>policy</th><th>priority</th><th>timeout</th>
              <th>calls</th><th>errors</th><th>p50</th><th>p99</th></tr></thead><tbody></tbody></table>
          </section>
          <section class="columns">
            <div>
              <h2>Errors</h2>
              <table id="errors"><thead><tr><th>code</th><th>last minute</th><th>last hour</th><th>total</th>
                <th>latest</th></tr></thead><tbody></tbody></table>
            </div>
            <div>
              <h2>Cache</h2>
              <table id="cache"><tbody></tbody></table>
              <h2>Agents</h2>
              <table id="agents"><thead><tr><th>agent</th><th>calls</th><th>errors</th><th>cache hits</th>
                <th>p99</th></tr></thead><tbody></tbody></table>
            </div>
          </section>
        </main>
        </body>
        </html>

        """#
}
