// Progressive enhancement of the demo callback page: a "Copy" button under each token.
// Without this script the tokens are still shown, wrapped, and can be selected by hand.
// Loaded from our own origin (the page's CSP allows no inline script).
(function () {
  "use strict";

  function selectText(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function addCopyButton(block) {
    var name = document.getElementById(block.getAttribute("aria-labelledby"));
    var label = name ? name.textContent : "value";
    var row = document.createElement("div");
    row.className = "copy-row";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "secondary-button";
    button.textContent = "Copy";
    button.setAttribute("aria-label", "Copy " + label);
    var status = document.createElement("span");
    status.setAttribute("role", "status");
    row.appendChild(button);
    row.appendChild(status);
    block.parentNode.appendChild(row);
    button.addEventListener("click", function () {
      var text = block.textContent;
      var copied = navigator.clipboard && navigator.clipboard.writeText
        ? navigator.clipboard.writeText(text)
        : Promise.reject(new Error("no clipboard"));
      copied.then(
        function () { status.textContent = "Copied " + label; },
        function () {
          // No clipboard access (an http origin, a refused permission): select it instead.
          selectText(block);
          status.textContent = "Selected: press Ctrl+C (⌘C) to copy";
        }
      );
    });
  }

  function start() {
    var blocks = document.querySelectorAll("pre[data-copy]");
    for (var i = 0; i < blocks.length; i++) addCopyButton(blocks[i]);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
