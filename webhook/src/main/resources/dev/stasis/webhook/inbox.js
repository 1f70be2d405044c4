// Stasis inbox: a little progressive enhancement, no build step. The pages work without it.
(function () {
  'use strict';
  // Deadlines and dates in the reader's own time zone, with a relative hint.
  var rel = typeof Intl !== 'undefined' && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' }) : null;
  document.querySelectorAll('time[datetime]').forEach(function (t) {
    var d = new Date(t.getAttribute('datetime'));
    if (isNaN(d.getTime())) { return; }
    t.title = t.textContent;
    var text = d.toLocaleString();
    if (rel) {
      var minutes = Math.round((d.getTime() - Date.now()) / 60000);
      var hint = Math.abs(minutes) < 90 ? rel.format(minutes, 'minute')
        : Math.abs(minutes) < 48 * 60 ? rel.format(Math.round(minutes / 60), 'hour')
        : rel.format(Math.round(minutes / 1440), 'day');
      text += ' (' + hint + ')';
    }
    t.textContent = text;
  });
  // One submission per click: the button is disabled once the form is on its way.
  document.querySelectorAll('form.wait-form').forEach(function (form) {
    form.addEventListener('submit', function () {
      var button = form.querySelector('button[type=submit]');
      if (button) {
        button.textContent = 'Submitting…';
        setTimeout(function () { button.disabled = true; }, 0);
      }
    });
  });
})();
