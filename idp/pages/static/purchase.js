/* The hosted purchase pages (progressive enhancement: each works without this script).
   Purchase page: the total of "Another amount" and its button's name follow what is
   typed; after an error outside a field, focus moves to the message.
   Success page: poll the checkout status until the webhook has credited the purchase. */
(function () {
  "use strict";
  var form = document.getElementById("custom-amount");
  var banner = document.getElementById("form-error");
  if (banner && !document.querySelector("[autofocus]")) {
    banner.setAttribute("tabindex", "-1");
    banner.focus();
  }
  if (!form) { return; }
  var input = document.getElementById("amount");
  var total = document.getElementById("amount-total");
  var button = document.getElementById("amount-buy");
  var unit = Number(form.getAttribute("data-unit-minor"));
  var exponent = Number(form.getAttribute("data-exponent"));
  var prefix = form.getAttribute("data-prefix");
  var suffix = form.getAttribute("data-suffix");
  var max = Number(form.getAttribute("data-max"));
  var help = form.getAttribute("data-help");
  // The page's words, in its language ({total} and {count} stand for the figures).
  var words = {
    total: form.getAttribute("data-total") || "Total: {total}",
    buy: form.getAttribute("data-buy") || "Buy {count} credits",
    buyAny: form.getAttribute("data-buy-any") || "Buy credits",
  };

  function grouped(digits) {
    return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }

  // As wallet.purchase_form.amount_of reads it: ASCII digits, thousands separators allowed.
  function amountOf(raw) {
    var text = raw.trim().replace(/[,\s]/g, "");
    if (!/^[0-9]{1,10}$/.test(text)) { return null; }
    var value = Number(text);
    return value >= 1 && value <= max ? value : null;
  }

  // As wallet.prices.money formats it; totals stay below 2^53, exact in a Number.
  function money(minor) {
    var digits = String(minor);
    while (digits.length <= exponent) { digits = "0" + digits; }
    var whole = digits.slice(0, digits.length - exponent);
    var fraction = exponent ? "." + digits.slice(digits.length - exponent) : "";
    return prefix + grouped(whole) + fraction + suffix;
  }

  function update() {
    var amount = amountOf(input.value);
    if (amount) {
      total.textContent = words.total.replace("{total}", money(amount * unit));
      button.textContent = words.buy.replace("{count}", grouped(String(amount)));
    } else {
      total.textContent = input.value.trim() ? help : "";
      button.textContent = words.buyAny;
    }
  }

  input.addEventListener("input", update);
  // Typed before this script ran, or restored by the browser on going back: the server's
  // total and button name are for the value it sent.
  if (input.value !== input.defaultValue) { update(); }
}());

(function () {
  "use strict";
  var box = document.getElementById("purchase-status");
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute("data-status-url");
  var heading = document.getElementById("page-title");
  var status = document.getElementById("status-text");
  var spinner = document.getElementById("status-spinner");
  var error = document.getElementById("status-error");
  var balance = document.getElementById("status-balance");
  var reload = document.getElementById("reload");
  var retry = document.getElementById("retry");
  var WAITING = { processing: true, pending: true };
  var titleSuffix = document.title.indexOf(" · ") < 0 ? "" : document.title.slice(document.title.indexOf(" · "));
  var attempts = 0;
  var MAX_ATTEMPTS = 40; // about a minute at 1.5 s
  var failures = 0;

  function grouped(number) {
    return String(number).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }

  // Show one state's words (the template holds them all) and its heading.
  function enter(name) {
    var states = box.querySelectorAll("[data-state]");
    for (var i = 0; i < states.length; i++) {
      var shown = states[i].getAttribute("data-state") === name;
      states[i].hidden = !shown;
      if (shown && heading) {
        heading.textContent = states[i].getAttribute("data-heading");
        document.title = heading.textContent + titleSuffix;
      }
    }
    box.setAttribute("data-state", name);
    status.className = "message " + (name === "failed" ? "error" : "notice") + " progress";
    spinner.hidden = !WAITING[name];
    if (reload) { reload.hidden = !(WAITING[name] || name === "slow"); }
    if (retry) { retry.hidden = !(name === "failed" || name === "expired"); }
  }

  // In the SDK's purchase popup (popup_handoff.js), the outcome goes to the opener.
  function handOff(outcome, state) {
    if (window.idpPopupHandoff) {
      window.idpPopupHandoff.report(outcome, {
        balance: state.balance, held: state.held, available: state.available
      });
    }
  }

  // The checkout's state as the status endpoint reports it; true once it is final.
  function show(state) {
    balance.textContent = grouped(state.available);
    if (state.credited) {
      enter("credited");
      error.hidden = true;
      handOff("credited", state);
      return true;
    }
    if (state.status === "failed" || state.status === "expired") {
      enter(state.status);
      handOff("failed", state);
      return true;
    }
    enter(state.status === "pending" ? "pending" : "processing");
    return false;
  }

  function poll() {
    attempts += 1;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) {
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.json();
      })
      .then(function (state) {
        failures = 0;
        if (show(state)) { return; }
        if (attempts >= MAX_ATTEMPTS) {
          enter("slow");
          return;
        }
        window.setTimeout(poll, 1500);
      })
      .catch(function () {
        failures += 1;
        if (failures >= 3 || attempts >= MAX_ATTEMPTS) {
          enter("slow");
          error.textContent = "We could not check the payment status. Use \u201cCheck again\u201d in a moment.";
          error.hidden = false;
          return;
        }
        window.setTimeout(poll, 3000);
      });
  }

  poll();
}());
