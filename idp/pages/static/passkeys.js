// Passkeys (WebAuthn) on the hosted pages.  Loaded from our own origin (the pages' CSP
// allows no inline script); every page that uses it also works, or says why not,
// without it.
//  - form[data-passkey-register]: the registration ceremony (account page, after the
//    password was confirmed);
//  - [data-passkey-sign-in]: the sign-in page's passkey, offered in the email field's
//    autofill (conditional mediation) where the browser can, and by a button;
//  - [data-passkey-second-step]: a passkey as the second step after the password.
// Each ceremony is two same-origin POSTs (options, then the authenticator's answer) with
// the page's CSRF token in a header; a refusal is JSON whose error_description is
// shown in the page, never in a dialog.  The texts come from the page's data-msg-*
// attributes (translated with the page).
(function () {
  "use strict";

  function toBytes(value) {
    var base64 = value.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) base64 += "=";
    var binary = window.atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    if (!buffer) return null;
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return window.btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      return { type: item.type, id: toBytes(item.id), transports: item.transports };
    });
  }

  function creationOptions(json) {
    json.challenge = toBytes(json.challenge);
    json.user.id = toBytes(json.user.id);
    json.excludeCredentials = descriptors(json.excludeCredentials);
    return json;
  }

  function requestOptions(json) {
    json.challenge = toBytes(json.challenge);
    json.allowCredentials = descriptors(json.allowCredentials);
    return json;
  }

  function common(credential) {
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults
        ? credential.getClientExtensionResults()
        : {},
    };
  }

  function registrationJSON(credential) {
    var json = common(credential);
    var response = credential.response;
    json.response = {
      clientDataJSON: toBase64url(response.clientDataJSON),
      attestationObject: toBase64url(response.attestationObject),
      transports: response.getTransports ? response.getTransports() : [],
    };
    return json;
  }

  function assertionJSON(credential) {
    var json = common(credential);
    var response = credential.response;
    json.response = {
      clientDataJSON: toBase64url(response.clientDataJSON),
      authenticatorData: toBase64url(response.authenticatorData),
      signature: toBase64url(response.signature),
      userHandle: toBase64url(response.userHandle),
    };
    return json;
  }

  function Refusal(message, code) {
    this.message = message;
    this.code = code;
  }

  // POST JSON; resolves with the answer, rejects with a Refusal carrying its message.
  function post(url, token, body, failed) {
    return window
      .fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": token },
        body: JSON.stringify(body || {}),
      })
      .then(
        function (response) {
          return response
            .json()
            .catch(function () {
              return {};
            })
            .then(function (data) {
              if (!response.ok) {
                throw new Refusal(data.error_description || failed, data.error || "failed");
              }
              return data;
            });
        },
        function () {
          throw new Refusal(failed, "network");
        }
      );
  }

  // What the browser's own refusal means to the person (or null: nothing to say).
  function browserRefusal(error, messages) {
    if (error instanceof Refusal) return error;
    var name = error && error.name;
    if (name === "AbortError") return null;
    if (name === "InvalidStateError") return new Refusal(messages.exists, "exists");
    if (name === "NotAllowedError") return new Refusal(messages.cancelled, "cancelled");
    return new Refusal(messages.failed, "failed");
  }

  function messagesOf(element) {
    return {
      failed: element.getAttribute("data-msg-failed") || "",
      cancelled: element.getAttribute("data-msg-cancelled") || "",
      exists: element.getAttribute("data-msg-exists") || "",
      unsupported: element.getAttribute("data-msg-unsupported") || "",
    };
  }

  function tokenOf(element) {
    var field = element.querySelector("input[name=csrf_token]");
    return field ? field.value : "";
  }

  // The box becomes an alert only when it has something to say (an empty alert is
  // still an alert to assistive technology, and to the pages' tests).
  function show(box, message) {
    box.setAttribute("role", "alert");
    box.textContent = message;
    box.hidden = false;
    box.focus();
  }

  function supported() {
    return !!(window.PublicKeyCredential && navigator.credentials);
  }

  function follow(answer) {
    window.location.assign(answer.redirect);
  }

  // -- registration (account page) ------------------------------------------------------
  function register(form) {
    var messages = messagesOf(form);
    var box = form.querySelector("[data-passkey-error]");
    var button = form.querySelector("button[type=submit]");
    var token = tokenOf(form);
    if (!supported()) {
      show(box, messages.unsupported);
      button.disabled = true;
      return;
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      box.hidden = true;
      button.disabled = true;
      var name = form.querySelector("input[name=name]").value;
      post(form.getAttribute("data-options-url"), token, {}, messages.failed)
        .then(function (options) {
          return navigator.credentials.create({ publicKey: creationOptions(options) });
        })
        .then(function (credential) {
          var body = { credential: registrationJSON(credential), name: name };
          return post(form.getAttribute("data-url"), token, body, messages.failed);
        })
        .then(follow, function (error) {
          button.disabled = false;
          var refusal = browserRefusal(error, messages);
          if (refusal) show(box, refusal.message);
        });
    });
  }

  // -- sign-in with a passkey (sign-in page) --------------------------------------------
  function signIn(element) {
    var messages = messagesOf(element);
    var box = element.querySelector("[data-passkey-error]");
    var button = element.querySelector("[data-passkey-button]");
    var token = tokenOf(document);
    var carried = { return_to: element.getAttribute("data-return-to") || "" };
    var pending = null; // the conditional request's AbortController

    function ceremony(mediation) {
      var controller = window.AbortController ? new window.AbortController() : null;
      // Held at once: a click while the options are still on their way cancels this
      // request before it reaches the browser (two pending requests would clash).
      if (mediation && controller) pending = controller;
      return post(element.getAttribute("data-options-url"), token, {}, messages.failed)
        .then(function (options) {
          if (controller && controller.signal.aborted) {
            throw new DOMException("superseded", "AbortError");
          }
          var request = { publicKey: requestOptions(options) };
          if (mediation) request.mediation = mediation;
          if (controller) request.signal = controller.signal;
          return navigator.credentials.get(request);
        })
        .then(function (credential) {
          var body = { credential: assertionJSON(credential), return_to: carried.return_to };
          return post(element.getAttribute("data-url"), token, body, messages.failed);
        })
        .then(follow);
    }

    function conditional() {
      var check = window.PublicKeyCredential.isConditionalMediationAvailable;
      if (!check) return;
      check.call(window.PublicKeyCredential).then(function (available) {
        if (!available) return;
        ceremony("conditional").catch(function (error) {
          var refusal = browserRefusal(error, messages);
          // A refusal from our side is worth saying; the browser's (the person
          // dismissed the autofill) is not.
          if (refusal && !(error && error.name)) show(box, refusal.message);
        });
      });
    }

    if (!supported()) return;
    element.hidden = false;
    button.addEventListener("click", function () {
      if (pending) pending.abort();
      pending = null;
      box.hidden = true;
      button.disabled = true;
      ceremony(null).catch(function (error) {
        button.disabled = false;
        var refusal = browserRefusal(error, messages);
        if (refusal) show(box, refusal.message);
        conditional();
      });
    });
    conditional();
  }

  // -- a passkey as the second step -----------------------------------------------------
  function secondStep(element) {
    var messages = messagesOf(element);
    var box = element.querySelector("[data-passkey-error]");
    var button = element.querySelector("[data-passkey-button]");
    var token = tokenOf(element);
    if (!supported()) {
      show(box, messages.unsupported);
      button.disabled = true;
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      box.hidden = true;
      button.disabled = true;
      post(element.getAttribute("data-options-url"), token, {}, messages.failed)
        .then(function (options) {
          return navigator.credentials.get({ publicKey: requestOptions(options) });
        })
        .then(function (credential) {
          var body = { credential: assertionJSON(credential) };
          return post(element.getAttribute("data-url"), token, body, messages.failed);
        })
        .then(follow, function (error) {
          button.disabled = false;
          var refusal = browserRefusal(error, messages);
          if (refusal) show(box, refusal.message);
        });
    });
  }

  function start() {
    var forms = document.querySelectorAll("form[data-passkey-register]");
    for (var i = 0; i < forms.length; i++) register(forms[i]);
    var signIns = document.querySelectorAll("[data-passkey-sign-in]");
    for (var j = 0; j < signIns.length; j++) signIn(signIns[j]);
    var steps = document.querySelectorAll("[data-passkey-second-step]");
    for (var k = 0; k < steps.length; k++) secondStep(steps[k]);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
