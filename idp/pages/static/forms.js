// Progressive enhancement of the hosted forms; every page works without it.
//  - a "Show" toggle beside each password field (the password stays a password field
//    for the browser's password manager; only what is drawn changes);
//  - countdowns: [data-countdown] holds the seconds of a wait (a rate limit, the resend
//    cooldown of a code); its [data-clock] ticks as m:ss, the elements its
//    data-blocks selector names stay disabled until the end, then data-done is shown.
// Loaded from our own origin (the pages' CSP allows no inline script).
(function () {
  "use strict";

  function clock(seconds) {
    var minutes = Math.floor(seconds / 60);
    var rest = seconds % 60;
    return minutes + ":" + (rest < 10 ? "0" : "") + rest;
  }

  // The page's words for the toggle (base.html: data-text-* on <body>, in its language).
  function text(name, english) {
    return document.body.getAttribute("data-text-" + name) || english;
  }

  function addToggle(input) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "reveal";
    button.textContent = text("show", "Show");
    button.setAttribute("aria-controls", input.id);
    button.setAttribute("aria-pressed", "false");
    button.setAttribute("aria-label", text("show-password", "Show password"));
    button.addEventListener("click", function () {
      var showing = input.type === "text";
      input.type = showing ? "password" : "text";
      button.textContent = showing ? text("show", "Show") : text("hide", "Hide");
      button.setAttribute("aria-pressed", showing ? "false" : "true");
      button.setAttribute("aria-label", showing ? text("show-password", "Show password") : text("hide-password", "Hide password"));
    });
    input.parentNode.appendChild(button);
  }

  function countdown(element) {
    var left = parseInt(element.getAttribute("data-countdown"), 10) || 0;
    var selector = element.getAttribute("data-blocks");
    var blocked = selector ? document.querySelectorAll(selector) : [];
    var face = element.querySelector("[data-clock]");
    function block(on) {
      for (var i = 0; i < blocked.length; i++) blocked[i].disabled = on;
    }
    function tick() {
      if (left <= 0) {
        block(false);
        element.textContent = element.getAttribute("data-done") || "";
        element.removeAttribute("data-countdown");
        return;
      }
      if (face) face.textContent = clock(left);
      left -= 1;
      window.setTimeout(tick, 1000);
    }
    block(left > 0);
    tick();
  }

  function start() {
    var fields = document.querySelectorAll(".password-field input");
    for (var i = 0; i < fields.length; i++) addToggle(fields[i]);
    var waits = document.querySelectorAll("[data-countdown]");
    for (var j = 0; j < waits.length; j++) countdown(waits[j]);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
