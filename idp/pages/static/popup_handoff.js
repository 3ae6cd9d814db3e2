/* The SDK's purchase popup: report the outcome to the window that opened this one, in
   the SDK's envelope {v, type, id, state, payload}, to the app's registered origin only
   (never "*"), then close.  purchase.js reports "credited" / "failed" once the webhook has
   credited the wallet; the landing reports "cancelled" (a cancelled checkout, or the
   Cancel button). */
(function () {
  "use strict";
  var box = document.getElementById("popup-handoff");
  if (!box) { return; }
  var targetOrigin = box.getAttribute("data-target-origin");
  var state = box.getAttribute("data-state");
  var sent = false;

  function randomId() {
    var bytes = new Uint8Array(8);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function number(name) {
    var value = box.getAttribute(name);
    return value === null ? undefined : Number(value);
  }

  function report(status, extra) {
    if (sent || !targetOrigin || targetOrigin === "*") { return; }
    sent = true;
    var payload = {
      status: status,
      balance: number("data-balance"),
      held: number("data-held"),
      available: number("data-available")
    };
    var checkout = box.getAttribute("data-checkout-id");
    if (checkout) { payload.checkout_id = checkout; }
    Object.keys(extra || {}).forEach(function (key) {
      if (extra[key] !== undefined) { payload[key] = extra[key]; }
    });
    var opener = window.opener;
    if (!opener || opener.closed) {
      document.getElementById("popup-orphan").hidden = false;
      return;
    }
    opener.postMessage(
      { v: 1, type: "cas:purchase:result", id: randomId(), state: state, payload: payload },
      targetOrigin
    );
    window.setTimeout(function () { window.close(); }, 50);
  }

  window.idpPopupHandoff = { report: report };

  var cancel = document.getElementById("popup-cancel");
  if (cancel) {
    cancel.addEventListener("click", function () { report("cancelled"); });
  }
  var close = document.getElementById("popup-close");
  if (close) {
    close.addEventListener("click", function () { window.close(); });
  }
  if (box.getAttribute("data-outcome") === "cancelled") { report("cancelled"); }
}());
