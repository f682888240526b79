// handin: small improvements on pages that work without JavaScript.
// - countdowns: elements with data-deadline (RFC 3339) show the time left, live,
//   then "late by ..." (data-unsubmitted) or "deadline passed ... ago";
// - the upload form: drag and drop, a check of type and size before sending,
//   a progress bar with percentage and speed, and one upload at a time;
// - marks on the marking table: each student's form is sent without leaving
//   the page, and what the server said is shown beside it.
"use strict";

(function () {
  // Two largest units, as the server writes them: "2 h 13 min", "3 d 4 h", "45 s".
  function human(ms) {
    var total = Math.floor(Math.abs(ms) / 1000);
    var d = Math.floor(total / 86400), h = Math.floor(total / 3600) % 24;
    var m = Math.floor(total / 60) % 60, s = total % 60;
    if (d > 0) return d + " d " + h + " h";
    if (h > 0) return h + " h " + m + " min";
    if (m > 0) return m + " min " + s + " s";
    if (s === 0 && ms !== 0) return "less than a second";
    return s + " s";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var left = Date.parse(el.getAttribute("data-deadline")) - now;
      if (isNaN(left)) return;
      // Within the grace period uploads still count as on time, as the
      // server judges them: not "late" yet.
      var grace = (parseInt(el.getAttribute("data-grace"), 10) || 0) * 1000;
      if (left >= 0) el.textContent = human(left) + " left";
      else if (-left <= grace) {
        el.textContent = "deadline passed " + human(left) + " ago; uploads count as on time for " +
          human(grace + left) + " more (grace period)";
      }
      else if (el.hasAttribute("data-unsubmitted")) el.textContent = "late by " + human(left);
      else el.textContent = "deadline passed " + human(left) + " ago";
      el.classList.toggle("late", left < -grace);
      // The last ten minutes stand out.
      el.classList.toggle("soon", left >= 0 && left < 10 * 60 * 1000);
    });
  }

  function mib(bytes) {
    return (bytes / 1048576).toFixed(1) + " MiB";
  }

  // The message of an error page returned by the server.
  function messageOf(html, status) {
    try {
      var doc = new DOMParser().parseFromString(html, "text/html");
      var el = doc.querySelector(".error");
      if (el) {
        // Several problems: the lead, then each one.
        var each = Array.prototype.map.call(doc.querySelectorAll(".problems li"), function (li) {
          return li.textContent.trim();
        });
        return [el.textContent.trim()].concat(each).join(" ");
      }
    } catch (e) { /* fall through */ }
    return "The upload failed (status " + status + "). Nothing was stored; please try again.";
  }

  function enhanceUpload(form) {
    var input = form.querySelector("input[type=file]");
    var button = form.querySelector("button[type=submit]");
    var zone = form.querySelector(".dropzone");
    var progress = form.querySelector("progress");
    var status = form.querySelector(".upload-status");
    var cancel = form.querySelector("button.cancel");
    var max = parseInt(form.getAttribute("data-max-bytes"), 10) || Infinity;
    var deadline = Date.parse(form.getAttribute("data-deadline-at") || "");
    var sending = false;
    var xhr = null;

    // What is said is tied to the file field, for screen readers too.
    function say(text, isError) {
      status.textContent = text;
      status.classList.toggle("error", !!isError);
      input.setAttribute("aria-invalid", isError ? "true" : "false");
    }

    // Leaving the page mid-upload loses it: the browser asks first.
    window.addEventListener("beforeunload", function (e) {
      if (sending) { e.preventDefault(); e.returnValue = ""; }
    });

    function stopped() {
      sending = false;
      xhr = null;
      button.disabled = false;
      progress.hidden = true;
      if (cancel) cancel.hidden = true;
    }

    if (cancel) {
      cancel.addEventListener("click", function () {
        if (xhr) xhr.abort();
      });
    }

    function check(file) {
      if (!file) return "Please choose your .zip bundle first.";
      if (!/\.zip$/i.test(file.name)) return "\"" + file.name + "\" is not a .zip file. Please upload your work as one .zip bundle.";
      if (file.size === 0) return "\"" + file.name + "\" is empty (0 bytes).";
      if (file.size > max) return "\"" + file.name + "\" is " + mib(file.size) + "; at most " + mib(max) + " is allowed.";
      return null;
    }

    input.addEventListener("change", function () {
      var file = input.files[0];
      var problem = file && check(file);
      say(problem || (file ? file.name + " (" + mib(file.size) + ") is ready to upload." : ""), !!problem);
    });

    if (zone) {
      ["dragenter", "dragover"].forEach(function (type) {
        zone.addEventListener(type, function (e) { e.preventDefault(); zone.classList.add("dragging"); });
      });
      ["dragleave", "drop"].forEach(function (type) {
        zone.addEventListener(type, function () { zone.classList.remove("dragging"); });
      });
      zone.addEventListener("drop", function (e) {
        e.preventDefault();
        if (e.dataTransfer.files.length) {
          input.files = e.dataTransfer.files;
          input.dispatchEvent(new Event("change"));
        }
      });
    }

    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (sending) return; // a double click sends once
      var file = input.files[0];
      var problem = check(file);
      if (problem) { say(problem, true); input.focus(); return; }
      sending = true;
      button.disabled = true;
      progress.hidden = false;
      progress.value = 0;
      if (cancel) cancel.hidden = false;
      var started = Date.now();
      xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      // Once the last byte is sent the server is keeping the attempt: too
      // late to cancel.
      var sent = false;
      xhr.upload.addEventListener("load", function () {
        sent = true;
        if (cancel) cancel.hidden = true;
        say("Sent: the server is checking and keeping your bundle…");
      });
      xhr.upload.addEventListener("progress", function (p) {
        if (!p.lengthComputable) return;
        var percent = Math.floor((100 * p.loaded) / p.total);
        var seconds = Math.max((Date.now() - started) / 1000, 0.001);
        var rate = p.loaded / seconds;
        progress.value = percent;
        var text = "Uploading: " + percent + "% (" + (rate / 1e6).toFixed(1) + " MB/s)";
        // Time left for the upload, beside the time left to the deadline.
        if (rate > 0 && p.loaded < p.total) {
          var toGo = ((p.total - p.loaded) / rate) * 1000;
          text += ", about " + human(toGo) + " to go";
          var untilDeadline = deadline - Date.now();
          if (!isNaN(untilDeadline) && untilDeadline > 0) {
            text += "; the deadline is in " + human(untilDeadline);
            if (toGo > untilDeadline) text += ": at this speed it will arrive after the deadline";
          }
        }
        say(text);
      });
      xhr.addEventListener("load", function () {
        if (xhr.status >= 200 && xhr.status < 300 && /\/submissions\/\d+$/.test(xhr.responseURL)) {
          progress.value = 100;
          sending = false;
          say("Received. Opening your receipt…");
          window.location.assign(xhr.responseURL);
          return;
        }
        var answer = xhr;
        stopped();
        var message = messageOf(answer.responseText, answer.status);
        say(message, true);
        // The deadline passed while the page was open: a late attempt would
        // replace the on-time one, and the student must say they mean it.
        var confirm = form.querySelector(".confirm-late");
        if (answer.status === 409 && confirm && /confirm_late/.test(message)) {
          var box = confirm.querySelector("input[type=checkbox]");
          confirm.hidden = false;
          box.required = true;
          box.focus();
        }
      });
      xhr.addEventListener("error", function () {
        stopped();
        say("The connection failed before the upload finished. Nothing was stored; please try again.", true);
      });
      xhr.addEventListener("abort", function () {
        stopped();
        say(sent
          ? "Stopped waiting. The bundle had arrived, so it may have been kept: check your attempts below after a reload."
          : "Upload cancelled. Nothing was stored.");
      });
      xhr.send(new FormData(form));
      say("Uploading: 0%");
    });
  }

  // A time shown in the course's zone is also shown in the reader's own
  // zone when the two differ (a student abroad): "(17:00 CET where you are)".
  function ownZone() {
    var mine;
    try { mine = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
    if (!mine) return;
    document.querySelectorAll("[data-instant][data-zone]").forEach(function (el) {
      var at = new Date(el.getAttribute("data-instant"));
      if (isNaN(at) || el.getAttribute("data-zone") === mine) return;
      var options = { weekday: "short", day: "numeric", month: "short", hour: "2-digit",
        minute: "2-digit", timeZoneName: "short", timeZone: mine };
      // Seconds where the server shows them: receipts, and times set to the second.
      if (el.hasAttribute("data-seconds") || at.getSeconds() !== 0 || at.getMilliseconds() !== 0) {
        options.second = "2-digit";
      }
      // The same wall-clock reading in both zones needs no second line.
      var plain = Object.assign({}, options, { timeZoneName: undefined });
      var there = new Intl.DateTimeFormat("en-GB", Object.assign({}, plain, { timeZone: el.getAttribute("data-zone") }));
      if (there.format(at) === new Intl.DateTimeFormat("en-GB", plain).format(at)) return;
      var shown = new Intl.DateTimeFormat("en-GB", options);
      var span = document.createElement("span");
      span.className = "muted your-zone";
      span.textContent = " (" + shown.format(at) + " where you are, " + mine + ")";
      el.appendChild(span);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    ownZone();
    tick();
    setInterval(tick, 1000);
    document.querySelectorAll("form[data-upload]").forEach(enhanceUpload);
    // Finding a student in a long list: options that do not match hide.
    var filter = document.getElementById("student-filter");
    var list = document.getElementById("students");
    if (filter && list) {
      filter.addEventListener("input", function () {
        var wanted = filter.value.trim().toLowerCase();
        Array.prototype.forEach.call(list.options, function (option) {
          option.hidden = wanted !== "" && option.textContent.toLowerCase().indexOf(wanted) < 0 && !option.selected;
        });
      });
    }
    // The marking table's filter applies as soon as one is chosen (its
    // button stays for pages without this script).
    // Only a pointer's choice applies at once: arrow keys move between the
    // choices without reloading, and the button applies them.
    document.querySelectorAll("form.filters").forEach(function (form) {
      var pointer = false;
      form.addEventListener("pointerdown", function () { pointer = true; });
      form.addEventListener("keydown", function () { pointer = false; });
      form.querySelectorAll("input[type=radio]").forEach(function (radio) {
        radio.addEventListener("change", function () { if (pointer) radio.form.submit(); });
      });
    });
  });

  // The form asks for JSON: the saved mark (and its final mark after the
  // late policy), or why it was not saved, shown beside the field.
  document.querySelectorAll("form.mark-form").forEach(function (form) {
    var said = form.querySelector(".mark-status");
    var field = form.querySelector("input[name=mark]");
    var final = form.querySelector(".mark-final");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      said.textContent = "saving…";
      fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      })
        .then(function (response) {
          return response.json().then(function (answer) { return [response.ok, answer]; },
            function () { return [false, { message: "Not saved (" + response.status + "): reload the page." }]; });
        })
        .then(function (result) {
          var ok = result[0], answer = result[1];
          said.textContent = answer.message;
          field.setAttribute("aria-invalid", ok ? "false" : "true");
          if (ok && final) {
            final.textContent = answer.late_rule === "none" ? "" : "final " + answer.final_mark;
          }
        })
        .catch(function () { said.textContent = "Not saved: no connection. Try again."; });
    });
  });
})();
