// Latchkey hosted pages: progressive enhancement only; every page works without it.
(function () {
  "use strict";
  // Tick off the password rules as the user types the new password.
  var input = document.getElementById("f-new_password");
  var rules = document.querySelectorAll("#password-rules li[data-rule]");
  if (input && rules.length) {
    var count = function (s, re) { var m = s.match(re); return m ? m.length : 0; };
    var check = function () {
      var v = input.value;
      rules.forEach(function (li) {
        var min = parseInt(li.getAttribute("data-min"), 10) || 0, n = 0;
        switch (li.getAttribute("data-rule")) {
          case "length": n = Array.from(v).length; break;
          case "upper": n = count(v, /\p{Lu}/gu); break;
          case "lower": n = count(v, /\p{Ll}/gu); break;
          case "digit": n = count(v, /\p{Nd}/gu); break;
          case "symbol": n = count(v, /[^\p{L}\p{Nd}]/gu); break;
        }
        var met = n >= min, note = li.querySelector(".sr-only");
        li.classList.toggle("met", met);
        if (note) { note.textContent = met ? " (" + li.parentNode.getAttribute("data-met") + ")" : ""; }
      });
    };
    input.addEventListener("input", check);
    check();
  }
  // Move the focus to the error summary so it is read out first.
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();
