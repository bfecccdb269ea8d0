/* Keyboard-first entry of paper forms by clerks (loaded on staff entry pages only; every page works
 * without it).
 *
 * - The start form focuses its first empty field (the unit code, or the form number when the unit is
 *   carried over from the previous form), or the first field with an error.
 * - A questionnaire page focuses the first unanswered question (the first question with an error
 *   when the server said so).
 * - In a choice question, typing the option's code as printed on the paper form selects it; a single
 *   choice then moves on to the next question (or to the page's button after the last one). Codes
 *   longer than one character are typed in full ("1" waits while "10" is possible; the next key
 *   decides). In a multiple choice, each code typed ticks or unticks its option.
 * - Enter moves to the next question; on the last question it presses the page's button (Tiếp tục /
 *   Gửi phiếu). In a long text, Enter moves on only when the box is empty (Ctrl+Enter always does).
 */
(function () {
  'use strict';

  var start = document.querySelector('form.entry-start');
  if (start) {
    var fields = Array.prototype.filter.call(start.querySelectorAll('input:not([type=hidden]), select'),
                                             function (f) { return !f.disabled; });
    var wrong = start.querySelector('[aria-invalid=true]');
    var empty = fields.filter(function (f) { return f.tagName === 'INPUT' && !f.value; })[0];
    (wrong || empty || fields[0]).focus();
    return;
  }

  var form = document.querySelector('form.page');
  if (!form) return;
  var FORWARD = 'button[name=action]:not([value=back])';

  function choices(question) {
    return Array.prototype.slice.call(question.querySelectorAll('input[type=radio], input[type=checkbox]'));
  }

  function fieldsOf(question) {
    return Array.prototype.filter.call(question.querySelectorAll('input, textarea, select'),
                                       function (f) { return f.type !== 'hidden'; });
  }

  function shown(question) {
    var fields = fieldsOf(question);
    return !question.closest('[hidden]') && fields.length > 0 && !fields[0].disabled;
  }

  function questions() {
    return Array.prototype.filter.call(form.querySelectorAll('[data-item]'), shown);
  }

  function answered(question) {
    var fields = fieldsOf(question);
    if (choices(question).length) return fields.some(function (f) { return f.checked; });
    return fields.some(function (f) { return f.value !== ''; });
  }

  function focusQuestion(question) {
    var options = choices(question);
    var target = options.filter(function (o) { return o.checked; })[0] || options[0] || fieldsOf(question)[0];
    target.focus();
    if (target.scrollIntoView) target.scrollIntoView({block: 'center'});
  }

  function forward() { return form.querySelector(FORWARD); }

  // Go to the question after this one; after the last, focus the page's button, or press it.
  function advance(question, press) {
    var all = questions(), next = all[all.indexOf(question) + 1], button = forward();
    if (next) {
      focusQuestion(next);
    } else if (button && press) {
      if (form.requestSubmit) form.requestSubmit(button); else button.click();
    } else if (button) {
      button.focus();
    }
  }

  var typed = null; // {question, text, exact}: a code typed so far in one question

  function matching(question, text) {
    var wanted = text.toUpperCase();
    return choices(question).filter(function (o) { return o.value.toUpperCase().indexOf(wanted) === 0; });
  }

  function choose(question, option) {
    if (option.type === 'radio' && option.checked) return;
    option.click(); // fires input and change: the page script re-evaluates skips at once
    option.focus();
  }

  function commitPending() {
    if (typed && typed.exact && typed.exact.type === 'checkbox') choose(typed.question, typed.exact);
    typed = null;
  }

  function codeKey(question, key) {
    var carried = typed && typed.question === question ? typed.text : '';
    var text = carried + key, found = matching(question, text), single, exact;
    if (!found.length) {
      commitPending();
      text = key;
      found = matching(question, text);
    }
    if (!found.length) {
      typed = null;
      question.classList.add('entry-miss');
      setTimeout(function () { question.classList.remove('entry-miss'); }, 400);
      return;
    }
    exact = found.filter(function (o) { return o.value.toUpperCase() === text.toUpperCase(); })[0];
    single = exact && exact.type === 'radio';
    if (exact && found.length === 1) {
      typed = null;
      choose(question, exact);
      if (single) advance(question, false);
      return;
    }
    if (single) choose(question, exact); // "1" chosen now; a "0" next makes it "10"
    typed = {question: question, text: text, exact: exact};
  }

  form.addEventListener('keydown', function (event) {
    var question = event.target.closest && event.target.closest('[data-item]');
    if (!question || event.altKey || event.metaKey) return;
    if (typed && typed.question !== question) typed = null;
    var isChoice = choices(question).length > 0, area = event.target.tagName === 'TEXTAREA';
    if (event.key === 'Enter') {
      if (area && !event.ctrlKey && event.target.value !== '') return; // a new line in the text
      event.preventDefault();
      commitPending();
      advance(question, true);
      return;
    }
    if (!isChoice || event.ctrlKey) return;
    if (event.key === ' ' && typed && typed.exact) {
      event.preventDefault();
      commitPending();
      return;
    }
    if (event.key.length === 1 && event.key !== ' ') {
      event.preventDefault();
      codeKey(question, event.key);
    }
  });

  form.addEventListener('focusout', function (event) {
    var question = typed && typed.question;
    if (question && !(event.relatedTarget && question.contains(event.relatedTarget))) commitPending();
  });

  if (document.activeElement && document.activeElement !== document.body &&
      form.contains(document.activeElement)) return; // the server focused an error
  var first = questions().filter(function (q) { return !answered(q); })[0];
  if (first) focusQuestion(first);
  else if (forward()) forward().focus();
}());
