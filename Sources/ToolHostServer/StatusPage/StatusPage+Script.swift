extension StatusPage {
    /// The page's script: reads `/v1/insights`, `/v1/plugins` and `/v1/tools` once a second with the tab's token
    /// (asked for when the daemon answers 401, kept in session storage, sent only in `Authorization`) and draws them.
    /// Every text from the daemon goes in through `textContent`, never as markup.
    static let script = #"""
        "use strict";
        const tokenKey = "toolhost-token";
        const historyLength = 120;
        const history = { rate: [], memory: [] };
        let tools = [];
        let toolsFetchedAt = 0;
        let firstData = true;
        let timer = null;
        let running = false;

        const $ = (id) => document.getElementById(id);

        function el(tag, text, className) {
          const node = document.createElement(tag);
          if (text !== undefined && text !== null) node.textContent = String(text);
          if (className) node.className = className;
          return node;
        }

        function svg(tag, attributes) {
          const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
          for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, String(value));
          return node;
        }

        function bytes(value) {
          if (value === null || value === undefined) return "–";
          const units = ["B", "KiB", "MiB", "GiB", "TiB"];
          let unit = 0;
          while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
          return (unit === 0 ? value.toFixed(0) : value.toFixed(1)) + " " + units[unit];
        }

        function ms(value) {
          if (value === null || value === undefined) return "–";
          if (value >= 1000) return (value / 1000).toFixed(2) + " s";
          if (value >= 10) return value.toFixed(0) + " ms";
          return value.toFixed(2) + " ms";
        }

        function duration(seconds) {
          const s = Math.floor(seconds);
          if (s < 60) return s + " s";
          if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
          if (s < 86400) return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
          return Math.floor(s / 86400) + " d " + Math.floor((s % 86400) / 3600) + " h";
        }

        function rate(value) {
          if (value >= 100) return value.toFixed(0);
          if (value >= 10) return value.toFixed(1);
          return value.toFixed(2);
        }

        class Unauthorized extends Error {}

        async function read(path, token) {
          const headers = { "Accept": "application/json" };
          if (token) headers["Authorization"] = "Bearer " + token;
          const response = await fetch(path, { headers, cache: "no-store" });
          if (response.status === 401) throw new Unauthorized("the daemon wants a bearer token");
          if (!response.ok) {
            let message = response.status + " " + response.statusText;
            try { message = (await response.json()).error.message; } catch (ignored) { /* not JSON */ }
            throw new Error(path + ": " + message);
          }
          return response.json();
        }

        function fillTable(id, rows, columns, emptyText) {
          const body = $(id).tBodies[0];
          const fresh = document.createElement("tbody");
          if (rows.length === 0) {
            const row = fresh.insertRow();
            const cell = el("td", emptyText, "empty");
            cell.colSpan = columns;
            row.appendChild(cell);
          }
          for (const cells of rows) {
            const row = fresh.insertRow();
            for (const cell of cells) row.appendChild(cell);
          }
          body.replaceWith(fresh);
        }

        const number = (value) => el("td", value, "number");

        function lineChart(id, values, format) {
          const chart = $(id);
          chart.replaceChildren();
          if (values.length < 2) return;
          const top = Math.max(...values) || 1;
          const step = 300 / (historyLength - 1);
          const start = 300 - (values.length - 1) * step;
          const points = values.map((v, i) => (start + i * step).toFixed(1) + "," + (96 - (v / top) * 86).toFixed(1));
          chart.appendChild(svg("polygon", { class: "area", points: start + ",100 " + points.join(" ") + " 300,100" }));
          chart.appendChild(svg("polyline", { class: "line", points: points.join(" ") }));
          const label = svg("text", { x: 2, y: 8 });
          label.textContent = "max " + format(top);
          chart.appendChild(label);
        }

        function latencyChart(slowest) {
          const chart = $("latency-chart");
          chart.replaceChildren();
          const shown = slowest.slice(0, 6);
          if (shown.length === 0) return;
          const top = Math.max(...shown.map((t) => t.p99Ms)) || 1;
          shown.forEach((tool, i) => {
            const y = 4 + i * 16;
            const name = svg("text", { x: 0, y: y + 8 });
            name.textContent = tool.tool;
            chart.appendChild(name);
            const width = (value) => Math.max(1, (value / top) * 150);
            chart.appendChild(svg("rect", { class: "p99", x: 110, y, height: 5, width: width(tool.p99Ms) }));
            chart.appendChild(svg("rect", { class: "p50", x: 110, y: y + 6, height: 5, width: width(tool.p50Ms) }));
            const value = svg("text", { x: 264, y: y + 8 });
            value.textContent = ms(tool.p99Ms);
            chart.appendChild(value);
          });
        }

        function pluginState(plugin) {
          if (plugin.quarantined) return "quarantined";
          return plugin.state;
        }

        function render(insights, plugins) {
          const calls = insights.calls;
          $("rate").textContent = rate(calls.perSecond);
          $("in-flight").textContent = calls.inFlight;
          $("queued").textContent = calls.queued;
          $("total").textContent = calls.total;
          $("errors-minute").textContent = insights.errors.lastMinute;
          $("errors-minute").className = "value" + (insights.errors.lastMinute > 0 ? " error-text" : "");
          const ratio = insights.cache.hitRatio;
          $("hit-ratio").textContent = ratio === null ? "–" : (ratio * 100).toFixed(1) + " %";
          const memory = insights.memory;
          $("memory").textContent = memory ? bytes(memory.residentBytes) : "not sampled";
          $("uptime").textContent = duration(insights.uptimeSeconds);

          history.rate.push(calls.perSecond);
          if (memory && memory.residentBytes !== null) history.memory.push(memory.residentBytes);
          for (const series of Object.values(history)) {
            while (series.length > historyLength) series.shift();
          }
          lineChart("rate-chart", history.rate, rate);
          lineChart("memory-chart", history.memory, bytes);
          latencyChart(insights.slowestTools);

          const pluginCalls = new Map(insights.busiestPlugins.map((p) => [p.plugin, p]));
          const workers = new Map((memory ? memory.workers : []).map((w) => [w.plugin, w]));
          const rows = plugins.plugins.map((plugin) => {
            const activity = pluginCalls.get(plugin.name);
            const worker = workers.get(plugin.name);
            const state = pluginState(plugin);
            let problem = "";
            if (plugin.error) problem = plugin.error.message;
            if (plugin.rejectedUpdate) problem = "rejected update: " + plugin.rejectedUpdate.message;
            if (plugin.capabilityConflicts) problem = plugin.capabilityConflicts.map((c) => c.message).join("; ");
            return [
              el("td", plugin.name), el("td", plugin.version), el("td", state, "state-" + state),
              el("td", plugin.isolation), number(plugin.tools.length), number(activity ? activity.calls : 0),
              number(activity ? activity.errors : 0),
              el("td", worker ? bytes(worker.residentBytes) + " (" + worker.processes + ")" : "–", "number"),
              el("td", problem, "error-text"),
            ];
          });
          for (const problem of plugins.problems) {
            rows.push([
              el("td", problem.directory), el("td", "–"), el("td", "unreadable", "state-failed"), el("td", "–"),
              number(0), number(0), number(0), el("td", "–", "number"), el("td", problem.message, "error-text"),
            ]);
          }
          fillTable("plugins", rows, 9, "no plugins in the plugins directory");

          const latency = new Map(insights.slowestTools.map((t) => [t.tool, t]));
          const busy = new Map(insights.busiestTools.map((t) => [t.tool, t]));
          fillTable("tools", tools.map((tool) => {
            const seen = latency.get(tool.name);
            const counted = busy.get(tool.name);
            const policy = [];
            if (tool.deterministic) {
              const ttl = tool.cacheTTLSeconds !== undefined ? ", cached " + tool.cacheTTLSeconds + " s" : "";
              policy.push("deterministic" + ttl);
            } else {
              policy.push(tool.idempotent ? "idempotent" : "not cached");
            }
            if (tool.provides && tool.provides.length) policy.push("provides " + tool.provides.join(", "));
            return [
              el("td", tool.name), el("td", policy.join("; ")), number(tool.priority),
              el("td", tool.timeoutMs !== undefined ? ms(tool.timeoutMs) : "default", "number"),
              number(seen ? seen.calls : 0), number(counted ? counted.errors : 0),
              el("td", seen ? ms(seen.p50Ms) : "–", "number"), el("td", seen ? ms(seen.p99Ms) : "–", "number"),
            ];
          }), 8, "no tools");

          fillTable("errors", insights.errors.byCode.map((pattern) => [
            el("td", pattern.code, "error-text"), number(pattern.lastMinute), number(pattern.lastHour),
            number(pattern.total),
            el("td", pattern.latest.tool + ": " + pattern.latest.message
              + " (" + duration(pattern.latest.secondsAgo) + " ago)"),
          ]), 5, "no errors since the start");

          const cache = insights.cache;
          fillTable("cache", [
            ["entries", cache.entries], ["bytes", bytes(cache.bytes) + " of " + bytes(cache.maxBytes)],
            ["hits", cache.hits], ["misses", cache.misses], ["evictions", cache.evictions],
          ].map(([label, value]) => [el("th", label), number(value)]), 2, "");

          fillTable("agents", insights.busiestAgents.map((agent) => [
            el("td", agent.agent), number(agent.calls), number(agent.errors), number(agent.cacheHits),
            el("td", ms(agent.p99Ms), "number"),
          ]), 5, "no calls yet");
        }

        function showLogin(message) {
          $("status").hidden = true;
          $("login").hidden = false;
          $("login-error").textContent = message || "";
          $("connection").textContent = "token needed";
          $("connection").className = "badge down";
          $("token").focus();
        }

        async function refresh() {
          timer = null;
          running = true;
          const token = sessionStorage.getItem(tokenKey);
          try {
            const now = Date.now();
            const wantTools = now - toolsFetchedAt > 5000;
            const [insights, plugins, toolList] = await Promise.all([
              read("/v1/insights?limit=1000", token), read("/v1/plugins", token),
              wantTools ? read("/v1/tools", token) : null,
            ]);
            if (toolList) { tools = toolList.tools; toolsFetchedAt = now; }
            $("login").hidden = true;
            $("status").hidden = false;
            render(insights, plugins);
            $("connection").textContent = "live";
            $("connection").className = "badge live";
            $("updated").textContent = "updated " + new Date().toLocaleTimeString();
            if (firstData) {
              firstData = false;
              performance.mark("toolhost-first-data");
              document.body.dataset.ready = "true";
            }
          } catch (error) {
            if (error instanceof Unauthorized) {
              running = false;
              // A token typed while this refresh ran is tried at once, not forgotten.
              if (sessionStorage.getItem(tokenKey) !== token) return refresh();
              sessionStorage.removeItem(tokenKey);
              showLogin(token ? "The daemon refused that token." : "");
              return;
            }
            $("connection").textContent = "unreachable";
            $("connection").className = "badge down";
            $("updated").textContent = error.message;
          }
          running = false;
          timer = setTimeout(refresh, 1000);
        }

        document.addEventListener("DOMContentLoaded", () => {
          $("login").addEventListener("submit", (event) => {
            event.preventDefault();
            sessionStorage.setItem(tokenKey, $("token").value.trim());
            $("token").value = "";
            toolsFetchedAt = 0;
            if (!running && timer === null) refresh();
          });
          const auth = document.querySelector('meta[name="toolhost-auth"]');
          if (auth && auth.content === "bearer" && !sessionStorage.getItem(tokenKey)) {
            showLogin("");
          } else {
            refresh();
          }
        });

        """#
}
