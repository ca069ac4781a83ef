// The portal's only script besides htmx (the Content-Security-Policy allows no inline script):
// a form with data-confirm asks before it is sent (suspending or closing a policy); a button
// with data-print prints the page (the payment receipt).
document.addEventListener("submit", (event) => {
  const question = event.target.dataset ? event.target.dataset.confirm : undefined;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

document.addEventListener("click", (event) => {
  const printer = event.target.closest ? event.target.closest("[data-print]") : null;
  if (printer) {
    event.preventDefault();
    window.print();
  }
});

// The policy editor completes column names: a textarea with data-complete names the table of
// available data (one row per column, data-column / data-label / data-kind); as the officer
// types, the columns starting with the word before the caret are listed under the caret;
// ArrowUp / ArrowDown choose, Tab or Enter accepts, Escape closes, a click accepts.
(() => {
  const WORD = /[A-Za-z_][A-Za-z0-9_]*$/;
  const MAX_SHOWN = 8;
  const MIN_TYPED = 2;
  // Words of the rule language (and YAML's) are never completed: Enter after `in` is a newline.
  const KEYWORDS = new Set(["and", "or", "not", "in", "if", "for", "null", "true", "false",
                            "is", "yes", "no", "on", "off"]);
  let list = null;
  let state = null; // {area, start, end, items, chosen}

  function columnsFor(area) {
    const table = document.querySelector(area.dataset.complete);
    if (!table) return [];
    return Array.from(table.querySelectorAll("tr[data-column]")).map((row) => ({
      name: row.dataset.column,
      label: row.dataset.label,
      kind: row.dataset.kind,
      employee: row.dataset.employee === "true",
    }));
  }

  function caretPoint(area, index) {
    // A hidden copy of the textarea's text up to the caret tells where the caret is drawn.
    const mirror = document.createElement("div");
    const style = window.getComputedStyle(area);
    for (const name of ["font", "lineHeight", "padding", "border", "letterSpacing",
                        "whiteSpace", "wordWrap", "tabSize", "boxSizing"]) {
      mirror.style[name] = style[name];
    }
    mirror.style.position = "absolute";
    mirror.style.visibility = "hidden";
    mirror.style.width = area.clientWidth + "px";
    mirror.textContent = area.value.slice(0, index);
    const marker = document.createElement("span");
    marker.textContent = "\u200b";
    mirror.appendChild(marker);
    document.body.appendChild(mirror);
    const point = {
      left: marker.offsetLeft - area.scrollLeft,
      top: marker.offsetTop + marker.offsetHeight - area.scrollTop,
    };
    mirror.remove();
    return point;
  }

  function close() {
    if (list) list.hidden = true;
    state = null;
  }

  function show(area, start, end, items) {
    if (!list) {
      list = document.createElement("ul");
      list.id = "completions";
      list.className = "completions";
      list.setAttribute("role", "listbox");
      list.addEventListener("mousedown", (event) => {
        const item = event.target.closest("li");
        if (!item || !state) return;
        event.preventDefault(); // keep the focus in the textarea
        state.chosen = Number(item.dataset.index);
        accept();
      });
    }
    area.parentElement.appendChild(list);
    list.replaceChildren(...items.map((column, index) => {
      const item = document.createElement("li");
      item.setAttribute("role", "option");
      item.dataset.index = String(index);
      const name = document.createElement("code");
      name.textContent = column.name;
      const words = document.createElement("span");
      words.className = "muted";
      words.textContent = " " + column.label + " · " + column.kind;
      item.append(name, words);
      return item;
    }));
    const point = caretPoint(area, end);
    list.style.left = area.offsetLeft + point.left + "px";
    list.style.top = area.offsetTop + point.top + "px";
    list.hidden = false;
    state = { area, start, end, items, chosen: 0 };
    mark();
  }

  function mark() {
    Array.from(list.children).forEach((item, index) => {
      item.classList.toggle("chosen", index === state.chosen);
      item.setAttribute("aria-selected", index === state.chosen ? "true" : "false");
    });
  }

  function accept() {
    const { area, start, end, items, chosen } = state;
    const name = items[chosen].name;
    area.value = area.value.slice(0, start) + name + area.value.slice(end);
    area.selectionStart = area.selectionEnd = start + name.length;
    close();
    area.dispatchEvent(new Event("input", { bubbles: true })); // the live check runs again
  }

  function suggest(area) {
    const end = area.selectionStart;
    if (end !== area.selectionEnd) return close();
    const before = area.value.slice(0, end);
    const found = WORD.exec(before);
    if (!found) return close();
    const word = found[0];
    if (word.length < MIN_TYPED || KEYWORDS.has(word.toLowerCase())) return close();
    const start = end - word.length;
    const afterDot = before[start - 1] === ".";
    const lower = word.toLowerCase();
    const items = columnsFor(area)
      .filter((c) => (afterDot ? c.employee : true))
      .filter((c) => c.name.toLowerCase().startsWith(lower) && c.name !== word)
      .slice(0, MAX_SHOWN);
    if (!items.length) return close();
    show(area, start, end, items);
  }

  document.addEventListener("input", (event) => {
    const area = event.target;
    if (area.matches && area.matches("textarea[data-complete]") && !area.readOnly) {
      if (event.isTrusted) suggest(area);
    }
  });

  document.addEventListener("keydown", (event) => {
    if (!state || event.target !== state.area) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      const step = event.key === "ArrowDown" ? 1 : -1;
      state.chosen = (state.chosen + step + state.items.length) % state.items.length;
      mark();
      event.preventDefault();
    } else if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      accept();
    } else if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  });

  document.addEventListener("focusout", (event) => {
    if (state && event.target === state.area) close();
  });
})();
