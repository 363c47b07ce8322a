/* Earshot console: SLA countdowns, the live queue, keyboard shortcuts and the overview's
 * charts. Plain JS, no build step. Whatever comes from a post or a person is inserted with
 * textContent (never innerHTML), and links are made only from http(s) URLs. */
(function () {
  "use strict";

  // -- helpers ---------------------------------------------------------------------------

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  /* An element with attributes and children; strings become text nodes. */
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (key) {
        var value = attrs[key];
        if (value === null || value === undefined || value === false) return;
        if (key === "className") node.className = value;
        else if (key === "text") node.textContent = value;
        else node.setAttribute(key, value === true ? "" : String(value));
      });
    }
    (children || []).forEach(function (child) {
      if (child === null || child === undefined || child === "") return;
      node.appendChild(typeof child === "string" || typeof child === "number"
        ? document.createTextNode(String(child)) : child);
    });
    return node;
  }

  function humanize(name) {
    return String(name || "").replace(/_/g, " ");
  }

  var toastTimer = null;
  function toast(message, bad) {
    var box = document.getElementById("toast");
    if (!box) return;
    box.textContent = message;
    box.className = "toast" + (bad ? " bad" : "");
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { box.hidden = true; }, 5000);
  }

  function typing(event) {
    var t = event.target;
    if (!t || !t.tagName) return false;
    var tag = t.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || t.isContentEditable;
  }

  function casePath(id) {
    return "/cases/" + encodeURIComponent(id);
  }

  // -- SLA countdowns --------------------------------------------------------------------

  function duration(seconds) {
    var s = Math.abs(Math.trunc(seconds));
    var days = Math.floor(s / 86400);
    var hours = Math.floor((s % 86400) / 3600);
    var minutes = Math.floor((s % 3600) / 60);
    var secs = s % 60;
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    if (days) return days + "d " + hours + "h";
    if (hours) return hours + "h " + pad(minutes) + "m";
    if (minutes) return minutes + "m " + pad(secs) + "s";
    return secs + "s";
  }

  function slaText(seconds) {
    if (seconds === null || seconds === undefined) return "answered";
    return seconds < 0 ? "overdue " + duration(seconds) : duration(seconds) + " left";
  }

  function tickCountdowns() {
    var now = Date.now();
    document.querySelectorAll(".sla[data-seconds-left]").forEach(function (node) {
      if (!node.dataset.deadline) {
        node.dataset.deadline = String(now + Number(node.dataset.secondsLeft) * 1000);
      }
      var left = Math.floor((Number(node.dataset.deadline) - now) / 1000);
      node.textContent = slaText(left);
      node.classList.toggle("overdue", left < 0);
    });
  }

  // -- shortcuts dialog ----------------------------------------------------------------

  function toggleShortcuts() {
    var dialog = document.getElementById("shortcuts");
    if (!dialog) return;
    if (dialog.open) dialog.close();
    else if (typeof dialog.showModal === "function") dialog.showModal();
    else dialog.setAttribute("open", "");
  }

  function dialogOpen() {
    var dialog = document.getElementById("shortcuts");
    return !!(dialog && dialog.open);
  }

  document.querySelectorAll("[data-shortcuts]").forEach(function (button) {
    button.addEventListener("click", toggleShortcuts);
  });

  // -- the queue page: live rows, selection, shortcuts --------------------------------------

  function slaNode(seconds, due) {
    var cls = "sla" + (seconds === null || seconds === undefined ? " answered" : seconds < 0 ? " overdue" : "");
    return el("span", {
      className: cls,
      "data-seconds-left": seconds === null || seconds === undefined ? null : seconds,
      title: due ? "due " + utcText(due) : null,
      text: slaText(seconds),
    });
  }

  // "2026-11-02T11:21:00Z" -> "2026-11-02 11:21 UTC", as the server writes times
  function utcText(iso) {
    var m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(String(iso));
    return m ? m[1] + " " + m[2] + " UTC" : String(iso);
  }

  function labelBadges(labels) {
    var out = [];
    if (!labels) return out;
    var s = labels.sentiment;
    if (s) {
      out.push(el("span", {
        className: "badge sentiment sentiment-" + s.label,
        title: "sentiment " + (s.score !== null && s.score !== undefined ? s.score.toFixed(2) : ""),
        text: s.label,
      }));
    }
    var i = labels.intent;
    if (i) {
      out.push(el("span", {
        className: "badge intent",
        title: "intent " + (i.score !== null && i.score !== undefined ? i.score.toFixed(2) : ""),
        text: humanize(i.label),
      }));
    }
    var p = labels["private"];
    if (p && p.move_private) {
      out.push(el("span", { className: "badge private", text: "private" }));
    }
    var sp = labels.spam;
    if (sp && sp.label === "spam") out.push(el("span", { className: "badge spam", text: "spam" }));
    return out;
  }

  function cell(col, children, className) {
    return el("td", { "data-col": col, className: className || null }, children);
  }

  function fillRow(row, c) {
    var post = c.post;
    var text = post
      ? el("span", { className: "post-text clamp", dir: "auto", text: post.text })
      : el("span", { className: "muted", text: "(post removed)" });
    var tier = c.tier && c.tier !== "standard"
      ? el("span", { className: "badge tier tier-" + c.tier, text: c.tier }) : null;
    row.replaceChildren(
      cell("priority", [String(c.priority)], "num prio"),
      cell("sla", [slaNode(c.sla_seconds_left, c.sla_due)]),
      cell("status", [el("span", { className: "status status-" + c.status, text: humanize(c.status) })]),
      cell("assignee", [c.assignee ? el("bdi", { text: c.assignee }) : el("span", { className: "muted", text: "-" })]),
      cell("author", [el("bdi", { className: "handle", text: "@" + c.author_handle }), " ", tier,
        el("span", { className: "src", text: c.source })]),
      cell("labels", labelBadges(post && post.labels)),
      cell("action", [el("span", { className: "action action-" + c.action, text: humanize(c.action) })]),
      cell("post", [el("a", { className: "case-link", href: casePath(c.id) }, [text])], "wide"),
      cell("rule", [c.rule], "muted")
    );
    row.dataset.caseId = c.id;
    row.dataset.status = c.status;
    row.dataset.updated = c.updated_at || "";
  }

  function initQueue(table) {
    var tbody = table.tBodies[0];
    var live = document.getElementById("live-status");
    var queue = table.dataset.queue;
    var period = Math.max(2, Number(table.dataset.poll) || 5) * 1000;
    var mayAct = table.dataset.mayAct === "1";
    var selectedId = null;
    var stopped = false;
    var timer = null;

    function rows() {
      return Array.prototype.slice.call(tbody.querySelectorAll("tr[data-case-id]"));
    }

    function select(row) {
      rows().forEach(function (r) {
        r.classList.remove("selected");
        r.removeAttribute("aria-selected");
      });
      if (!row) { selectedId = null; return; }
      row.classList.add("selected");
      row.setAttribute("aria-selected", "true");
      selectedId = row.dataset.caseId;
      row.scrollIntoView({ block: "nearest" });
    }

    function selectedRow() {
      if (selectedId === null) return null;
      return rows().find(function (r) { return r.dataset.caseId === selectedId; }) || null;
    }

    function move(step) {
      var all = rows();
      if (!all.length) return;
      var current = selectedRow();
      var index = current ? all.indexOf(current) + step : (step > 0 ? 0 : all.length - 1);
      select(all[Math.max(0, Math.min(all.length - 1, index))]);
    }

    function url() {
      var params = new URLSearchParams();
      if (table.dataset.status) params.set("status", table.dataset.status);
      if (table.dataset.mine) params.set("assignee", table.dataset.me);
      params.set("limit", table.dataset.limit || "50");
      return "/api/v1/queues/" + encodeURIComponent(queue) + "/cases?" + params.toString();
    }

    function merge(cases) {
      var existing = {};
      rows().forEach(function (r) { existing[r.dataset.caseId] = r; });
      var placeholder = tbody.querySelector("tr.empty-row");
      var seen = {};
      var changed = 0;
      cases.forEach(function (c) {
        seen[c.id] = true;
        var row = existing[c.id];
        if (!row) {
          row = el("tr", { className: "fresh" });
          fillRow(row, c);
          changed += 1;
        } else if (row.dataset.updated !== (c.updated_at || "")) {
          fillRow(row, c);
          row.classList.remove("fresh");
          void row.offsetWidth; // restart the highlight
          row.classList.add("fresh");
          changed += 1;
        }
        tbody.appendChild(row); // the server's order: most urgent first
      });
      Object.keys(existing).forEach(function (id) {
        if (!seen[id]) {
          if (id === selectedId) selectedId = null;
          existing[id].remove();
          changed += 1;
        }
      });
      if (placeholder) placeholder.hidden = cases.length > 0;
      if (!cases.length && !placeholder) {
        tbody.appendChild(el("tr", { className: "empty-row" },
          [el("td", { colspan: 9, className: "empty", text: "No cases here." })]));
      }
      if (selectedId !== null) {
        var row = selectedRow();
        if (row) row.classList.add("selected");
      }
      return changed;
    }

    // The header's counts (open, per status, overdue) follow the rows.
    function refreshCounts() {
      var box = document.getElementById("queue-counts");
      if (!box) return;
      fetch("/api/v1/queues/" + encodeURIComponent(queue),
        { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (summary) {
          if (!summary) return;
          var values = {
            open: summary.open,
            "new": summary.by_status["new"],
            claimed: summary.by_status.claimed,
            responded: summary.by_status.responded,
            overdue: summary.overdue,
          };
          box.querySelectorAll("[data-count]").forEach(function (node) {
            var value = values[node.dataset.count];
            if (value !== undefined) node.textContent = String(value);
          });
          var late = box.querySelector("[data-overdue]");
          if (late) late.classList.toggle("overdue", summary.overdue > 0);
        })
        .catch(function () { /* the rows' poll reports connection problems */ });
    }

    function poll() {
      if (stopped) return;
      clearTimeout(timer);
      if (document.hidden) { timer = setTimeout(poll, period); return; }
      fetch(url(), { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          if (response.status === 401) {
            stopped = true;
            live.textContent = "Your session ended: reload the page to log in again.";
            live.classList.add("stale");
            return null;
          }
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (cases) {
          if (!cases) return;
          var changed = merge(cases);
          refreshCounts();
          live.classList.remove("stale");
          live.textContent = "Live: updated " + new Date().toLocaleTimeString() +
            (changed ? " (" + changed + " change" + (changed === 1 ? "" : "s") + ")" : "");
          tickCountdowns();
        })
        .catch(function (error) {
          live.classList.add("stale");
          live.textContent = "Live updates paused (" + error.message + "); retrying…";
        })
        .then(function () {
          if (!stopped) timer = setTimeout(poll, period);
        });
    }

    function claim(row) {
      if (!row) return;
      if (!mayAct) { toast("Your role does not act on cases.", true); return; }
      if (row.dataset.status !== "new") {
        toast("Only a new case can be claimed; this one is " + humanize(row.dataset.status) + ".", true);
        return;
      }
      fetch("/api/v1/cases/" + encodeURIComponent(row.dataset.caseId) + "/actions", {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRF-Token": csrfToken(),
        },
        body: JSON.stringify({ action: "claim" }),
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (response.ok) {
            toast("You claimed " + row.dataset.caseId + ".");
          } else if (response.status === 409) {
            toast("Another agent changed this case first: " + (body.detail || "it is no longer new") + ".", true);
          } else {
            toast("Could not claim: " + (typeof body.detail === "string" ? body.detail : "HTTP " + response.status), true);
          }
          poll();
        });
      }).catch(function () { toast("Could not reach Earshot: try again.", true); });
    }

    tbody.addEventListener("click", function (event) {
      var row = event.target.closest && event.target.closest("tr[data-case-id]");
      if (row && !event.target.closest("a")) select(row);
    });

    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey || typing(event)) return;
      if (event.key === "?") { event.preventDefault(); toggleShortcuts(); return; }
      if (dialogOpen()) return;
      if (event.key === "j") { event.preventDefault(); move(1); }
      else if (event.key === "k") { event.preventDefault(); move(-1); }
      else if (event.key === "Enter") {
        var row = selectedRow();
        if (row) { event.preventDefault(); window.location.href = casePath(row.dataset.caseId); }
      } else if (event.key === "c") {
        var target = selectedRow();
        if (target) { event.preventDefault(); claim(target); }
      }
    });

    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) poll();
    });
    timer = setTimeout(poll, period);
  }

  // -- the case page: shortcuts press the action buttons ---------------------------------------

  function initCase() {
    var form = document.getElementById("act-form");
    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey || typing(event)) return;
      if (event.key === "?") { event.preventDefault(); toggleShortcuts(); return; }
      if (dialogOpen() || !form) return;
      if (!/^[crpe]$/.test(event.key)) return;
      var button = form.querySelector('button[data-key="' + event.key + '"]');
      if (button) {
        event.preventDefault();
        button.click();
      }
    });
  }

  // -- the overview: charts from the JSON block -------------------------------------------------

  var PALETTE = ["#2457c5", "#e07b39", "#1b7f4b", "#c0262d", "#6a3fb5", "#0f8b8d", "#b5884a",
    "#d4569c", "#5c6b7a", "#8fb339", "#3a9bd9", "#9c4f2a", "#4a4e9c", "#c2a300"];
  var SENTIMENT = { negative: "#c0262d", neutral: "#9aa3b2", positive: "#1b7f4b" };
  var AGES = ["#9ed0a5", "#f2d27a", "#f0a35e", "#e0663b", "#b3262d"];

  function emptyNote(canvas, message) {
    var box = canvas.parentNode;
    box.replaceChildren(el("p", { className: "empty", text: message }));
  }

  function stackedDays(canvas, volumes, key, colors) {
    var days = Object.keys(volumes).sort();
    if (!days.length) { emptyNote(canvas, "No posts in this period."); return; }
    var names = [];
    days.forEach(function (day) {
      Object.keys(volumes[day][key] || {}).forEach(function (name) {
        if (names.indexOf(name) < 0) names.push(name);
      });
    });
    names.sort();
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: days,
        datasets: names.map(function (name, index) {
          return {
            label: humanize(name),
            data: days.map(function (day) { return (volumes[day][key] || {})[name] || 0; }),
            backgroundColor: (colors && colors[name]) || PALETTE[index % PALETTE.length],
          };
        }),
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, title: { display: true, text: "posts" } } },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
      },
    });
  }

  function backlogChart(canvas, backlog, order) {
    var queues = Object.keys(backlog);
    if (!queues.length) { emptyNote(canvas, "No open cases."); return; }
    var buckets = (order || []).slice();
    Object.keys(backlog[queues[0]]).forEach(function (name) {
      if (buckets.indexOf(name) < 0) buckets.push(name);
    });
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: queues,
        datasets: buckets.map(function (bucket, index) {
          return {
            label: bucket,
            data: queues.map(function (q) { return backlog[q][bucket] || 0; }),
            backgroundColor: AGES[index % AGES.length],
          };
        }),
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        indexAxis: "y",
        interaction: { mode: "index", intersect: false },
        scales: { x: { stacked: true, beginAtZero: true, title: { display: true, text: "open cases" } }, y: { stacked: true } },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
      },
    });
  }

  function slaChart(canvas, groups) {
    var queues = Object.keys(groups);
    if (!queues.length) { emptyNote(canvas, "No cases opened in this period."); return; }
    var values = queues.map(function (q) {
      var v = groups[q].sla_attainment;
      return v === null || v === undefined ? null : Math.round(v * 1000) / 10;
    });
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: queues,
        datasets: [{
          label: "answered within SLA (%)",
          data: values,
          backgroundColor: values.map(function (v) {
            return v === null ? "#c8cdd6" : v >= 90 ? "#1b7f4b" : v >= 70 ? "#e0a23b" : "#c0262d";
          }),
        }],
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: { y: { beginAtZero: true, max: 100, title: { display: true, text: "%" } } },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: function (item) {
                var g = groups[queues[item.dataIndex]];
                var v = values[item.dataIndex];
                return (v === null ? "no outcome yet" : v + "%") + " (met " + g.sla_met + ", missed " + g.sla_missed + ")";
              },
            },
          },
        },
      },
    });
  }

  function initOverview() {
    var block = document.getElementById("overview-data");
    if (!block) return;
    var data;
    try { data = JSON.parse(block.textContent); } catch (e) { return; }
    var canvases = {
      intent: document.getElementById("chart-intent"),
      sentiment: document.getElementById("chart-sentiment"),
      backlog: document.getElementById("chart-backlog"),
      sla: document.getElementById("chart-sla"),
    };
    if (typeof window.Chart !== "function") {
      Object.keys(canvases).forEach(function (k) {
        if (canvases[k]) emptyNote(canvases[k], "The charts could not load; the tables below hold the figures.");
      });
      return;
    }
    window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    window.Chart.defaults.font.size = 12;
    window.Chart.defaults.color = "#3a4252";
    if (canvases.intent) stackedDays(canvases.intent, data.volumes || {}, "intent", null);
    if (canvases.sentiment) stackedDays(canvases.sentiment, data.volumes || {}, "sentiment", SENTIMENT);
    if (canvases.backlog) backlogChart(canvases.backlog, data.backlog || {}, data.buckets);
    if (canvases.sla) slaChart(canvases.sla, data.queues || {});
  }

  // -- forms that ask first (data-confirm: plain text) ----------------------------------------

  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  });

  // -- start -------------------------------------------------------------------------------------

  tickCountdowns();
  setInterval(tickCountdowns, 1000);
  var page = document.body.dataset.page;
  var table = document.getElementById("case-table");
  if (page === "queue" && table) initQueue(table);
  if (page === "case") initCase();
  if (page === "overview") initOverview();
})();
