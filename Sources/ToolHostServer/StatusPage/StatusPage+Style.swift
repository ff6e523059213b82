extension StatusPage {
    /// The page's style sheet: light or dark after the browser's preference.
    static let style = #"""
        :root { --fg: #1d2330; --muted: #667085; --bg: #f7f8fa; --card: #fff; --line: #e3e6ec;
          --accent: #2563eb; --accent2: #f97316; --ok: #15803d; --bad: #b91c1c; --warn: #a16207; }
        @media (prefers-color-scheme: dark) {
          :root { --fg: #e6e9ef; --muted: #98a2b3; --bg: #12151b; --card: #1a1e26; --line: #2b313c;
            --accent: #60a5fa; --accent2: #fb923c; --ok: #4ade80; --bad: #f87171; --warn: #facc15; }
        }
        * { box-sizing: border-box; }
        body { margin: 0; padding: 0 1.5rem 2rem; font: 14px/1.45 system-ui, sans-serif; color: var(--fg);
          background: var(--bg); }
        header { display: flex; align-items: baseline; gap: 1rem; padding: 1rem 0;
          border-bottom: 1px solid var(--line); }
        h1 { font-size: 1.4rem; margin: 0; }
        h2 { font-size: 1rem; margin: 1.5rem 0 0.5rem; }
        code { font-family: ui-monospace, monospace; }
        .muted { color: var(--muted); }
        .badge { border-radius: 999px; padding: 0.05rem 0.6rem; font-size: 0.8rem; border: 1px solid var(--line); }
        .badge.live { color: var(--ok); border-color: var(--ok); }
        .badge.down { color: var(--bad); border-color: var(--bad); }
        .state-loaded { color: var(--ok); }
        .state-quarantined, .state-failed { color: var(--bad); font-weight: 600; }
        .state-listed, .state-loading { color: var(--muted); }
        .error-text { color: var(--bad); }
        .warn-text { color: var(--warn); }
        form { margin: 2rem 0; max-width: 40rem; }
        input { font: inherit; padding: 0.3rem 0.5rem; margin: 0 0.5rem; }
        button { font: inherit; padding: 0.3rem 0.9rem; }
        .figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(10rem, 1fr)); gap: 0.75rem;
          margin-top: 1rem; }
        .figure { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 0.6rem 0.8rem; }
        .figure .label { display: block; color: var(--muted); font-size: 0.8rem; }
        .figure .value { font-size: 1.4rem; font-variant-numeric: tabular-nums; }
        .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(18rem, 1fr)); gap: 0.75rem;
          margin-top: 0.75rem; }
        figure { margin: 0; background: var(--card); border: 1px solid var(--line); border-radius: 6px;
          padding: 0.5rem 0.8rem; }
        figcaption { color: var(--muted); font-size: 0.8rem; }
        .chart { width: 100%; height: 8rem; display: block; }
        .chart .line { fill: none; stroke: var(--accent); stroke-width: 1.5; vector-effect: non-scaling-stroke; }
        .chart .area { fill: var(--accent); opacity: 0.12; }
        .chart .p50 { fill: var(--accent); }
        .chart .p99 { fill: var(--accent2); opacity: 0.7; }
        .chart text { fill: var(--muted); font-size: 8px; }
        table { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); }
        th, td { text-align: left; padding: 0.3rem 0.6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { color: var(--muted); font-weight: 500; font-size: 0.8rem; }
        td.number { text-align: right; font-variant-numeric: tabular-nums; }
        .columns { display: grid; grid-template-columns: repeat(auto-fit, minmax(24rem, 1fr)); gap: 1.5rem; }
        .empty { color: var(--muted); font-style: italic; }

        """#
}
