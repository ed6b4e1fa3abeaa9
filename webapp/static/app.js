/* VnSearch: small progressive enhancements. Every feature also works without JS
   (forms and links); this file adds autocomplete and instant facet filtering.
   Kept in a static file because the Content-Security-Policy forbids inline scripts. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  var FOCUS_KEY = "vnsearch.focus";

  var PHONE = "(max-width: 860px)";
  var SCROLL_KEY = "vnsearch.scroll";
  /* How many values a list holds before it gets a filter box. */
  var FILTER_MIN = 10;

  function isPhone() { return !!(window.matchMedia && window.matchMedia(PHONE).matches); }

  /* Accent-free matching: "ha noi" finds "Hà Nội", "dong" finds "Đồng". */
  function fold(text) {
    return (text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "")
      .replace(/đ/g, "d").replace(/Đ/g, "D").toLowerCase().replace(/\s+/g, " ").trim();
  }

  function submitForm(form) {
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  }

  /* Facets: on a wide screen ticking a checkbox runs the search at once and focus comes
     back to it; on a phone the panel collects the choices, shows the new count, and
     applying keeps the place on the page. */
  function initFacets() {
    var form = document.getElementById("search-form");
    var aside = document.querySelector(".facets");
    if (!form || !aside) return;
    var panel = aside.querySelector(".facets__panel");
    var apply = aside.querySelector(".facets__apply");
    var status = document.createElement("p");
    status.className = "facets__count";
    status.setAttribute("role", "status");
    aside.querySelector(".facets__footer").prepend(status);

    /* Back from the next page (bfcache): the date boxes left out of that URL work again. */
    window.addEventListener("pageshow", function () {
      document.querySelectorAll('input[type="date"][form="search-form"]').forEach(function (box) {
        box.disabled = false;
      });
    });
    form.addEventListener("submit", function () {
      /* Empty date boxes are left out of the URL. */
      document.querySelectorAll('input[type="date"][form="search-form"]').forEach(function (box) {
        if (!box.value) box.disabled = true;
      });
      if (isPhone() && panel && panel.open) {
        try {
          /* Where the panel stands in the window: results above it change length. */
          sessionStorage.setItem(SCROLL_KEY, JSON.stringify({
            top: aside.getBoundingClientRect().top, open: true }));
        } catch (e) { /* storage may be disabled: only the scroll position is lost */ }
      }
    });

    var pending = null;
    function countPending() {
      if (!apply) return;
      var params = new URLSearchParams(new FormData(form));
      ["from", "to"].forEach(function (name) { if (!params.get(name)) params.delete(name); });
      params.delete("page");
      params.set("per_page", "1");
      if (pending) pending.abort();
      pending = window.AbortController ? new AbortController() : null;
      status.textContent = "Đang đếm…";
      fetch(aside.getAttribute("data-count-url") + "?" + params.toString(), {
        headers: { Accept: "application/json" }, signal: pending ? pending.signal : undefined
      }).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
        if (!data) { status.textContent = ""; return; }
        var n = (data.total || 0).toLocaleString("vi-VN");
        apply.textContent = "Xem " + n + " kết quả";
        status.textContent = "Với các bộ lọc đã chọn: " + n + " kết quả.";
      }).catch(function () { /* aborted or offline: the button still applies */ });
    }

    function wire(box) {
      box.addEventListener("change", function () {
        if (isPhone()) { aside.classList.add("facets--pending"); countPending(); return; }
        try {
          sessionStorage.setItem(FOCUS_KEY, JSON.stringify([box.name, box.value]));
        } catch (e) { /* storage may be disabled: only focus restoring is lost */ }
        submitForm(form);
      });
    }
    aside.querySelectorAll('input[type="checkbox"]').forEach(wire);

    var saved = null;
    try {
      saved = JSON.parse(sessionStorage.getItem(FOCUS_KEY) || "null");
      sessionStorage.removeItem(FOCUS_KEY);
    } catch (e) { saved = null; }
    if (saved) {
      aside.querySelectorAll('input[type="checkbox"]').forEach(function (box) {
        if (box.name === saved[0] && box.value === saved[1]) {
          var more = box.closest("details.facet__more");
          if (more) more.open = true;
          box.focus({ preventScroll: false });
        }
      });
    }
    var scroll = null;
    try {
      scroll = JSON.parse(sessionStorage.getItem(SCROLL_KEY) || "null");
      sessionStorage.removeItem(SCROLL_KEY);
    } catch (e) { scroll = null; }
    /* On phones the filter panel starts folded so results come first, unless the user
       just applied filters from it: then it stays open where it was, with the new count. */
    if (panel && isPhone()) {
      if (scroll && scroll.open) {
        panel.open = true;
        var summary = document.querySelector(".results__summary");
        status.textContent = summary ? summary.textContent.replace(/\s+/g, " ").trim() : "";
        window.scrollTo(0, aside.getBoundingClientRect().top + window.scrollY - scroll.top);
      } else if (!saved) {
        panel.open = false;
      }
    }

    /* "Bộ lọc" above the results (on a phone) opens the panel it leads to. */
    document.querySelectorAll('a[href="#facets-title"]').forEach(function (link) {
      link.addEventListener("click", function () { if (panel) panel.open = true; });
    });
    aside.querySelectorAll(".facet").forEach(function (fieldset) { addFilterBox(fieldset); });
    initTree(aside, wire);
  }

  /* A filter box above a long list: typing (with or without accents) keeps the matching
     values and the branches that hold them, and opens “Xem thêm” while it filters. */
  function addFilterBox(container) {
    var items = container.querySelectorAll(":scope > .facet-list > li, :scope > .facet__more > .facet-list > li");
    if (items.length < FILTER_MIN || container.querySelector(":scope > .facet-filter")) return;
    var legend = container.querySelector("legend");
    var name = legend ? legend.textContent.trim() : "danh sách";
    var box = document.createElement("input");
    box.type = "search";
    box.className = "facet-filter";
    box.placeholder = "Tìm trong " + items.length + " mục…";
    box.setAttribute("aria-label", "Tìm trong danh sách " + name + " (gõ có dấu hay không dấu)");
    box.setAttribute("autocomplete", "off");
    var first = container.querySelector(":scope > .facet-list");
    first.parentNode.insertBefore(box, first);
    var more = container.querySelector(":scope > .facet__more");
    var moreWasOpen = more ? more.open : false;
    var empty = document.createElement("p");
    empty.className = "facet-filter__empty";
    empty.hidden = true;
    empty.textContent = "Không có mục nào khớp.";
    first.parentNode.insertBefore(empty, first);
    box.addEventListener("input", function () {
      var q = fold(box.value);
      var shown = 0;
      function visit(li) {
        var label = li.querySelector(":scope > label");
        var own = !q || fold(label ? label.textContent : "").indexOf(q) >= 0;
        var child = false;
        li.querySelectorAll(":scope > .facet-sub > .facet-list > li, :scope > .facet-sub > .facet__more > .facet-list > li")
          .forEach(function (c) { if (visit(c)) child = true; });
        var keep = own || child;
        li.hidden = !keep;
        return keep;
      }
      items.forEach(function (li) { if (visit(li)) shown += 1; });
      if (more) more.open = q ? true : moreWasOpen;
      empty.hidden = shown > 0;
    });
    if (more) more.addEventListener("toggle", function () { if (!box.value) moreWasOpen = more.open; });
  }

  /* The locality tree is folded below the province: a button opens a province's places,
     fetched for the same search (the page itself stays small). */
  function initTree(aside, wire) {
    var base = aside.getAttribute("data-branch-url");
    aside.querySelectorAll("li[data-folded]").forEach(function (li) {
      var tree = li.closest("[data-tree]");
      var box = li.querySelector(":scope > input");
      var label = li.querySelector(":scope > label");
      if (!tree || !box || !base) return;
      var name = label.firstChild ? label.firstChild.textContent.trim() : box.value;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "facet-toggle";
      button.setAttribute("aria-expanded", "false");
      button.setAttribute("aria-label", "Mở " + li.getAttribute("data-folded") + " đơn vị thuộc " + name);
      button.textContent = "▸";
      label.after(button);
      var sub = null;
      button.addEventListener("click", function () {
        if (sub) {
          var open = sub.hidden;
          sub.hidden = !open;
          button.setAttribute("aria-expanded", open ? "true" : "false");
          return;
        }
        button.disabled = true;
        var url = base + (base.indexOf("?") >= 0 ? "&" : "?") + "tree=" + encodeURIComponent(tree.getAttribute("data-tree")) +
          "&parent=" + encodeURIComponent(box.value);
        fetch(url, { headers: { Accept: "text/html" } })
          .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
          .then(function (html) {
            var holder = document.createElement("div");
            holder.innerHTML = html;  /* our own server-rendered, escaped fragment */
            sub = holder.firstElementChild;
            li.appendChild(sub);
            sub.querySelectorAll('input[type="checkbox"]').forEach(wire);
            addFilterBox(sub);
            button.setAttribute("aria-expanded", "true");
            button.setAttribute("aria-label", "Thu gọn các đơn vị thuộc " + name);
          })
          .catch(function () { button.textContent = "!"; button.title = "Không mở được, hãy thử lại."; })
          .then(function () { button.disabled = false; });
      });
    });
  }

  /* The timeline is one stop for Tab; the arrow keys move between its months. */
  function initTimeline() {
    var bars = Array.prototype.slice.call(document.querySelectorAll(".timeline__bar"));
    if (bars.length < 2) return;
    var current = bars.findIndex(function (b) { return b.classList.contains("timeline__bar--chosen"); });
    if (current < 0) current = bars.length - 1;
    bars.forEach(function (bar, i) {
      bar.setAttribute("tabindex", i === current ? "0" : "-1");
      bar.addEventListener("keydown", function (event) {
        var next = null;
        if (event.key === "ArrowRight" || event.key === "ArrowDown") next = Math.min(i + 1, bars.length - 1);
        else if (event.key === "ArrowLeft" || event.key === "ArrowUp") next = Math.max(i - 1, 0);
        else if (event.key === "Home") next = 0;
        else if (event.key === "End") next = bars.length - 1;
        if (next === null) return;
        event.preventDefault();
        bars.forEach(function (b, j) { b.setAttribute("tabindex", j === next ? "0" : "-1"); });
        bars[next].focus();
      });
    });
  }

  /* Autocomplete: an ARIA combobox over /api/suggest (accent-free prefixes work). */
  function initAutocomplete() {
    var input = document.getElementById("q");
    var list = document.getElementById("q-suggestions");
    if (!input || !list) return;
    var url = input.getAttribute("data-suggest-url");
    var timer = null;
    var active = -1;
    var lastPrefix = null;
    var controller = null;

    function options() { return list.querySelectorAll('[role="option"]'); }

    function close() {
      list.hidden = true;
      list.innerHTML = "";
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function highlight(index) {
      var opts = options();
      if (!opts.length) return;
      active = (index + opts.length) % opts.length;
      opts.forEach(function (opt, i) { opt.setAttribute("aria-selected", i === active ? "true" : "false"); });
      input.setAttribute("aria-activedescendant", opts[active].id);
    }

    function choose(text) {
      input.value = text;
      close();
      var form = input.form;
      if (form.requestSubmit) form.requestSubmit(); else form.submit();
    }

    function render(items) {
      list.innerHTML = "";
      active = -1;
      if (!items.length) { close(); return; }
      items.forEach(function (text, i) {
        var li = document.createElement("li");
        li.id = "q-suggestion-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.textContent = text;  /* textContent: suggestions are never parsed as HTML */
        li.addEventListener("mousedown", function (event) {
          event.preventDefault();
          choose(text);
        });
        list.appendChild(li);
      });
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function fetchSuggestions() {
      var prefix = input.value.trim();
      if (prefix === lastPrefix) return;
      lastPrefix = prefix;
      if (prefix.length < 2) { close(); return; }
      if (controller) controller.abort();
      controller = window.AbortController ? new AbortController() : null;
      fetch(url + "?q=" + encodeURIComponent(prefix), {
        headers: { Accept: "application/json" },
        signal: controller ? controller.signal : undefined
      })
        .then(function (r) { return r.ok ? r.json() : { suggestions: [] }; })
        .then(function (data) {
          if (input.value.trim() === prefix && document.activeElement === input) {
            render(data.suggestions || []);
          }
        })
        .catch(function () { /* aborted or offline: no suggestions */ });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(fetchSuggestions, 150);
    });
    input.addEventListener("keydown", function (event) {
      var open = !list.hidden;
      if (event.key === "ArrowDown") {
        if (!open) { lastPrefix = null; fetchSuggestions(); return; }
        event.preventDefault();
        highlight(active + 1);
      } else if (event.key === "ArrowUp" && open) {
        event.preventDefault();
        highlight(active - 1);
      } else if (event.key === "Enter" && open && active >= 0) {
        event.preventDefault();
        choose(options()[active].textContent);
      } else if (event.key === "Escape" && open) {
        event.preventDefault();
        close();
      }
    });
    input.addEventListener("blur", function () { lastPrefix = null; setTimeout(close, 100); });
  }

  function init() {
    initFacets();
    initTimeline();
    initAutocomplete();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
