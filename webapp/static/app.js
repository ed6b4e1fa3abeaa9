/* VnSearch: small progressive enhancements. Every feature also works without JS
   (forms and links); this file adds autocomplete and instant facet filtering.
   Kept in a static file because the Content-Security-Policy forbids inline scripts. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  var FOCUS_KEY = "vnsearch.focus";

  /* Facets: ticking a checkbox runs the search at once; focus comes back to it after reload. */
  function initFacets() {
    var form = document.getElementById("search-form");
    if (!form) return;
    document.querySelectorAll('input[type="checkbox"][form="search-form"]').forEach(function (box) {
      box.addEventListener("change", function () {
        try {
          sessionStorage.setItem(FOCUS_KEY, JSON.stringify([box.name, box.value]));
        } catch (e) { /* storage may be disabled: only focus restoring is lost */ }
        if (form.requestSubmit) form.requestSubmit(); else form.submit();
      });
    });
    var saved = null;
    try {
      saved = JSON.parse(sessionStorage.getItem(FOCUS_KEY) || "null");
      sessionStorage.removeItem(FOCUS_KEY);
    } catch (e) { saved = null; }
    if (saved) {
      document.querySelectorAll('input[type="checkbox"][form="search-form"]').forEach(function (box) {
        if (box.name === saved[0] && box.value === saved[1]) {
          var more = box.closest("details.facet__more");
          if (more) more.open = true;
          box.focus({ preventScroll: false });
        }
      });
    }
    /* On phones the filter panel starts folded so results come first. */
    var panel = document.querySelector(".facets__panel");
    if (panel && window.matchMedia && window.matchMedia("(max-width: 860px)").matches && !saved) {
      panel.open = false;
    }
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
    initAutocomplete();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
