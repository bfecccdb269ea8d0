/* Questionnaire pages, made quicker with JavaScript; every page works without it.
 *
 * 1. window.ParExpr: a port of survey/definitions/expressions.py (same grammar, same XPath-style
 *    conversions, same results; tests/browser/test_expressions.py holds the two together).
 * 2. Live skip logic: items that depend on answers on the same page hide as soon as those
 *    answers change; hidden inputs are disabled so that their values are not sent.
 * 3. Checks before sending (not for "back" nor for saving without moving on), with the server's
 *    messages and markup. The server still checks everything; whatever this script cannot decide it
 *    leaves to the server.
 * 4. Autosave: the page's answers are posted to the draft as the person goes (a second after the last
 *    change, and when the page is hidden or closed), so that closing the tab loses nothing.
 */
(function () {
  'use strict';

  /* ---- Characters as Python's re and str see them ---- */
  // Python's \s and str.strip()/split() whitespace (str.isspace), which is not quite JavaScript's \s.
  var SPACE = '[\\t-\\r \\x1c-\\x1f\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
  // Python's \d is any Unicode decimal digit, and float() reads them all.
  var UNICODE = (function () {
    try { return new RegExp('\\p{Nd}', 'u'); } catch (e) { return null; }
  }());
  var DIGIT = UNICODE ? '\\p{Nd}' : '[0-9]';
  var FLAGS = UNICODE ? 'u' : '';

  function re(source, flags) {
    return new RegExp(source.replace(/\\d/g, function () { return DIGIT; }), FLAGS + (flags || ''));
  }

  var STRIP = new RegExp('^' + SPACE + '+|' + SPACE + '+$', 'g');
  var SPLIT = new RegExp(SPACE + '+');
  var NUMBER = re('^-?(?:\\d+(?:\\.\\d*)?|\\.\\d+)$');

  function strip(text) { return text.replace(STRIP, ''); }

  function words(text) { return strip(text).split(SPLIT).filter(Boolean); }

  function length(text) { return Array.from(text).length; } // code points, as Python's len

  // Turn any Unicode decimal digit into 0-9: digits come in runs of ten starting at zero.
  function ascii(text) {
    return UNICODE ? text.replace(/[^\x00-\x7f]/g, function (c) {
      if (!UNICODE.test(c)) return c;
      var code = c.codePointAt(0), start = code;
      while (UNICODE.test(String.fromCodePoint(start - 1))) start--;
      return String((code - start) % 10);
    }) : text;
  }

  /* ---- Expressions ---- */
  function ExpressionError(message) {
    var error = new Error(message);
    error.name = 'ExpressionError';
    return error;
  }

  // A calendar date (Python's date: compared as ISO text).
  function Day(iso) { this.iso = iso; }

  var TOKEN = re(SPACE + '*(?:\\$\\{([A-Za-z_][A-Za-z0-9_.\\-]*)\\}|(\\d+(?:\\.\\d+)?|\\.\\d+)|' +
                 '(\'[^\']*\'|"[^"]*")|(<=|>=|!=|=|<|>|\\+|-|\\*|\\(|\\)|,)|([A-Za-z][A-Za-z0-9\\-]*)|(\\.))',
                 'y');
  var KINDS = [null, 'ref', 'number', 'string', 'op', 'word', 'dot'];
  var FUNCTIONS = {'not': 1, 'selected': 2, 'count-selected': 1, 'string-length': 1, 'true': 0, 'false': 0};
  var COMPARISONS = ['=', '!=', '<', '<=', '>', '>='];
  var LEVELS = [['word', ['or']], ['word', ['and']], ['op', COMPARISONS], ['op', ['+', '-']], ['mul']];

  function tokenize(text) {
    var tokens = [], position = 0, match, i;
    text = text.replace(new RegExp(SPACE + '+$'), '');
    while (position < text.length) {
      TOKEN.lastIndex = position;
      match = TOKEN.exec(text);
      if (match === null) {
        throw ExpressionError('unexpected character ' + strip(text.slice(position)).charAt(0) +
                              ' at position ' + (position + 1));
      }
      for (i = 1; match[i] === undefined; i++);
      tokens.push([KINDS[i], match[i]]);
      position = TOKEN.lastIndex;
    }
    return tokens;
  }

  function Parser(text) {
    this.tokens = tokenize(text);
    this.pos = 0;
  }

  Parser.prototype = {
    peek: function () { return this.tokens[this.pos] || null; },
    take: function (kind, value) {
      var token = this.peek();
      if (token === null) throw ExpressionError('expression ends too early');
      if (token[0] !== kind || token[1] !== value) {
        throw ExpressionError('expected ' + value + ' but found ' + token[1]);
      }
      this.pos++;
      return token;
    },
    accept: function (kind, values) {
      var token = this.peek();
      if (token && token[0] === kind && (!values || values.indexOf(token[1]) >= 0)) {
        this.pos++;
        return token[1];
      }
      return null;
    },
    parse: function () {
      if (!this.tokens.length) throw ExpressionError('empty expression');
      var node = this.binary(0);
      if (this.peek() !== null) {
        throw ExpressionError('unexpected ' + this.peek()[1] + ' after a complete expression');
      }
      return node;
    },
    binary: function (level) {
      if (level === LEVELS.length) return this.unary();
      var node = this.binary(level + 1), operator;
      for (;;) {
        operator = LEVELS[level][0] === 'mul'
          ? this.accept('op', ['*']) || this.accept('word', ['div', 'mod'])
          : this.accept(LEVELS[level][0], LEVELS[level][1]);
        if (operator === null) return node;
        node = {kind: 'op', value: operator, args: [node, this.binary(level + 1)]};
      }
    },
    unary: function () {
      if (this.accept('op', ['-'])) return {kind: 'op', value: 'neg', args: [this.unary()]};
      return this.primary();
    },
    primary: function () {
      var token = this.peek(), node;
      if (token === null) throw ExpressionError('expression ends too early');
      this.pos++;
      switch (token[0]) {
        case 'number': return {kind: 'num', value: parseFloat(ascii(token[1]))};
        case 'string': return {kind: 'str', value: token[1].slice(1, -1)};
        case 'ref': return {kind: 'ref', value: token[1]};
        case 'dot': return {kind: 'self'};
      }
      if (token[0] === 'op' && token[1] === '(') {
        node = this.binary(0);
        this.take('op', ')');
        return node;
      }
      if (token[0] === 'word' && FUNCTIONS.hasOwnProperty(token[1])) return this.call(token[1]);
      throw ExpressionError('unexpected ' + token[1]);
    },
    call: function (name) {
      var args = [];
      this.take('op', '(');
      if (!this.accept('op', [')'])) {
        args.push(this.binary(0));
        while (this.accept('op', [','])) args.push(this.binary(0));
        this.take('op', ')');
      }
      if (args.length !== FUNCTIONS[name]) {
        throw ExpressionError(name + '() takes ' + FUNCTIONS[name] + ' argument(s), got ' + args.length);
      }
      return {kind: 'call', value: name, args: args};
    }
  };

  function parse(text) { return new Parser(text).parse(); }

  // Python's str() of a float: repr, with integers written out and small numbers in e-notation.
  function numberText(n) {
    if (n !== n) return 'NaN';
    if (n === Infinity || n === -Infinity) return n > 0 ? 'inf' : '-inf';
    if (Number.isInteger(n)) {
      return Math.abs(n) >= 1e21 && typeof BigInt === 'function' ? BigInt(n).toString() : String(n);
    }
    if (Math.abs(n) >= 1e-4) return String(n);
    var parts = n.toExponential().split('e-');
    return parts[0] + 'e-' + (parts[1].length < 2 ? '0' : '') + parts[1];
  }

  function toString(value) {
    if (value === null || value === undefined) return '';
    if (typeof value === 'boolean') return value ? 'true' : 'false';
    if (typeof value === 'number') return numberText(value);
    if (Array.isArray(value)) return value.map(toString).join(' ');
    if (value instanceof Day) return value.iso;
    return String(value);
  }

  function toNumber(value) {
    if (typeof value === 'boolean') return value ? 1 : 0;
    if (typeof value === 'number') return value;
    var text = strip(toString(value));
    return NUMBER.test(text) ? parseFloat(ascii(text)) : NaN;
  }

  function toBoolean(value) {
    if (typeof value === 'boolean') return value;
    if (typeof value === 'number') return value === value && value !== 0;
    if (Array.isArray(value)) return value.length > 0;
    return toString(value) !== '';
  }

  // Compare strings by code point, as Python does (JavaScript compares UTF-16 units).
  function order(a, b) {
    var x = Array.from(a), y = Array.from(b), i, d;
    for (i = 0; i < x.length && i < y.length; i++) {
      d = x[i].codePointAt(0) - y[i].codePointAt(0);
      if (d) return d;
    }
    return x.length - y.length;
  }

  function compare(operator, left, right) {
    var equal, a, b;
    if (operator === '=' || operator === '!=') {
      if (typeof left === 'boolean' || typeof right === 'boolean') equal = toBoolean(left) === toBoolean(right);
      else if (typeof left === 'number' || typeof right === 'number') equal = toNumber(left) === toNumber(right);
      else equal = toString(left) === toString(right);
      return operator === '=' ? equal : !equal;
    }
    if (left instanceof Day || right instanceof Day) {
      a = order(toString(left), toString(right));
      b = 0;
    } else {
      a = toNumber(left);
      b = toNumber(right);
    }
    return operator === '<' ? a < b : operator === '<=' ? a <= b : operator === '>' ? a > b : a >= b;
  }

  function arithmetic(operator, a, b) {
    if (operator === '+') return a + b;
    if (operator === '-') return a - b;
    if (operator === '*') return a * b;
    if (b === 0 || b !== b || a !== a) {
      if (operator === 'mod' || a !== a || b !== b || a === 0) return NaN;
      return (a < 0) !== Object.is(b, -0) ? -Infinity : Infinity;
    }
    if (operator === 'div') return a / b;
    if (!isFinite(a)) throw new RangeError('math domain error'); // as Python's math.fmod
    return a % b;
  }

  function chosen(value) { return Array.isArray(value) ? value : words(toString(value)); }

  function call(name, args) {
    switch (name) {
      case 'true': return true;
      case 'false': return false;
      case 'not': return !toBoolean(args[0]);
      case 'selected': return chosen(args[0]).map(toString).indexOf(toString(args[1])) >= 0;
      case 'count-selected': return chosen(args[0]).length;
      default: return length(toString(args[0])); // string-length
    }
  }

  function evaluate(node, answers, current) {
    var operator = node.value, left, right;
    switch (node.kind) {
      case 'num': case 'str': return node.value;
      case 'ref': return answers.hasOwnProperty(operator) ? answers[operator] : null;
      case 'self': return current === undefined ? null : current;
      case 'call': return call(operator, node.args.map(function (a) { return evaluate(a, answers, current); }));
    }
    if (operator === 'neg') return -toNumber(evaluate(node.args[0], answers, current));
    left = evaluate(node.args[0], answers, current);
    if (operator === 'or') return toBoolean(left) || toBoolean(evaluate(node.args[1], answers, current));
    if (operator === 'and') return toBoolean(left) && toBoolean(evaluate(node.args[1], answers, current));
    right = evaluate(node.args[1], answers, current);
    if (COMPARISONS.indexOf(operator) >= 0) return compare(operator, left, right);
    return arithmetic(operator, toNumber(left), toNumber(right));
  }

  function holds(expression, answers, current) {
    if (expression === null || expression === undefined) return true;
    return toBoolean(evaluate(typeof expression === 'string' ? parse(expression) : expression,
                              answers || {}, current));
  }

  window.ParExpr = {parse: parse, evaluate: evaluate, holds: holds, toString: toString, Day: Day};

  /* ---- The page ---- */
  var form = document.querySelector('form.page');
  if (!form || !form.dataset.messages) return;
  var messages = JSON.parse(form.dataset.messages);
  var stored = JSON.parse(form.dataset.answers || '{}');
  JSON.parse(form.dataset.dates || '[]').forEach(function (id) {
    if (typeof stored[id] === 'string') stored[id] = new Day(stored[id]);
  });
  var parsed = {};

  // Evaluate a condition; one this script cannot evaluate counts as holding (the server decides).
  function safely(text, answers, current) {
    try {
      if (!parsed.hasOwnProperty(text)) parsed[text] = parse(text);
      return holds(parsed[text], answers, current);
    } catch (e) {
      return true;
    }
  }

  function Problem(code, params) { this.code = code; this.params = params || {}; }

  function shown(bound) { return String(Number(bound)); }

  function inputs(element) { return element.querySelectorAll('input, textarea, select'); }

  // The raw value the browser would send for an item, or a list of values for checkboxes.
  function raw(question) {
    var fields = inputs(question), values = [], i;
    if (question.dataset.type === 'multiple_choice' || question.dataset.type === 'single_choice') {
      for (i = 0; i < fields.length; i++) if (fields[i].checked) values.push(fields[i].value);
      return question.dataset.type === 'single_choice' ? (values[0] || '') : values;
    }
    return fields.length ? fields[0].value.replace(/\r?\n/g, '\r\n') : '';
  }

  function isoDay(year, month, day) {
    var leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
    var last = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
    if (year < 1 || !last || day < 1 || day > last) throw new Problem('not_date');
    return new Day(String(year).padStart(4, '0') + '-' + String(month).padStart(2, '0') + '-' +
                   String(day).padStart(2, '0'));
  }

  var INTEGRAL = re('^-?\\d+(?:[.,]\\d+)?$');
  var DAY_FIRST = re('^(\\d{1,2})[/.\\-](\\d{1,2})[/.\\-](\\d{4})$');
  var ISO = /^(\d{4})(-?)(\d{2})\2(\d{2})$/; // date.fromisoformat: 2025-11-25 or 20251125

  // Port of survey/definitions/types.py: the typed value, or a thrown Problem; undefined = unsure.
  function coerce(question, value) {
    var type = question.dataset.type, text, match, number;
    if (type === 'multiple_choice') {
      value = value.map(strip).filter(function (code, i, all) { return code && all.indexOf(code) === i; });
      return value.length ? value : null;
    }
    text = strip(value);
    if (type === 'integer' || type === 'decimal') {
      text = text.replace(/ /g, '');
      if (!text) return null;
      if (!INTEGRAL.test(text)) throw new Problem('not_number');
      number = parseFloat(ascii(text).replace(',', '.'));
      if (type === 'integer' && !Number.isInteger(number)) throw new Problem('not_whole');
      return number;
    }
    if (type === 'date' && text) {
      match = DAY_FIRST.exec(text);
      if (match) return isoDay(+ascii(match[3]), +ascii(match[2]), +ascii(match[1]));
      match = ISO.exec(text);
      if (match) return isoDay(+match[1], +match[3], +match[4]);
      if (/^\d{4}-?W/.test(text)) return undefined; // an ISO week date: left to the server
      throw new Problem('not_date');
    }
    return text || null;
  }

  function check(question, value) {
    var type = question.dataset.type, min = question.dataset.min, max = question.dataset.max;
    var count, limit, codes;
    if (type === 'single_choice' || type === 'multiple_choice') {
      codes = Array.prototype.map.call(inputs(question), function (i) { return i.value; });
      if ([].concat(value).some(function (code) { return codes.indexOf(code) < 0; })) {
        throw new Problem('unknown_option');
      }
      count = type === 'multiple_choice' ? value.length : null;
      if (count !== null && min !== undefined && count < +min) throw new Problem('too_few', {min: shown(min)});
      if (count !== null && max !== undefined && count > +max) throw new Problem('too_many', {max: shown(max)});
    } else if (type === 'integer' || type === 'decimal') {
      if (min !== undefined && value < +min) throw new Problem('below_min', {min: shown(min)});
      if (max !== undefined && value > +max) throw new Problem('above_max', {max: shown(max)});
    } else if (type === 'date') {
      if (min !== undefined && value.iso < min) throw new Problem('date_before', {min: min});
      if (max !== undefined && value.iso > max) throw new Problem('date_after', {max: max});
    } else if (type === 'text' || type === 'long_text') {
      limit = +(inputs(question)[0].getAttribute('maxlength') || (type === 'text' ? 255 : 5000));
      if (length(value) > limit) throw new Problem('too_long', {max: limit});
    }
  }

  // Read one visible item as the server's engine.read_page does.
  function read(question, answers) {
    var value = coerce(question, raw(question));
    if (value === undefined) return undefined;
    if (value === null) {
      if (question.hasAttribute('data-required')) throw new Problem('required');
      // A multiple choice with a minimum of one or more cannot be left empty (as the server's check_empty).
      if (question.dataset.type === 'multiple_choice' && +question.dataset.min > 0) {
        throw new Problem('too_few', {min: shown(question.dataset.min)});
      }
      return null;
    }
    check(question, value);
    var constraint = question.dataset.constraint;
    if (constraint && !safely(constraint, answers, value)) throw new Problem('constraint');
    return value;
  }

  // Walk the page in order, showing and hiding items; return the problems of the shown ones.
  function update() {
    var answers = Object.assign({}, stored), problems = [];
    form.querySelectorAll('[data-relevant], [data-item]').forEach(function (element) {
      var relevant = element.dataset.relevant, id = element.dataset.item;
      var own = relevant === undefined || safely(relevant, answers);
      var visible = own && !(element.parentElement && element.parentElement.closest('[hidden]'));
      element.hidden = !own;
      inputs(element).forEach(function (field) { field.disabled = !visible; });
      if (id === undefined) return;
      if (!visible) {
        delete answers[id];
        return;
      }
      try {
        answers[id] = read(element, answers);
        if (answers[id] === undefined) answers[id] = null;
      } catch (problem) {
        if (!(problem instanceof Problem)) throw problem;
        answers[id] = null;
        if (messages[problem.code]) problems.push([element, problem]);
      }
    });
    return problems;
  }

  // "Khác, ghi rõ" left empty while "Khác" is chosen: say so, not just "please answer".
  function otherSpecifyMessage(element, problem) {
    return problem.code === 'required' && element.dataset.otherOf !== undefined && messages.other_required;
  }

  function message(element, problem) {
    var text = problem.code === 'constraint' && element.dataset.constraintMessage ||
               otherSpecifyMessage(element, problem) || messages[problem.code];
    return text.replace(/%\((min|max)\)s/g, function (all, name) { return problem.params[name]; });
  }

  function labelOf(element) {
    var heading = element.querySelector('legend, label');
    return strip(Array.prototype.filter.call(heading.childNodes, function (n) { return n.nodeType === 3; })
      .map(function (n) { return n.data; }).join(''));
  }

  // Where aria-describedby goes: the fieldset of a choice, the input of an entry.
  function described(element) {
    return element.tagName === 'FIELDSET' ? element : inputs(element)[0];
  }

  function setDescribedBy(target, ids) {
    if (ids.length) target.setAttribute('aria-describedby', ids.join(' '));
    else target.removeAttribute('aria-describedby');
  }

  function clearErrors() {
    var summary = document.querySelector('.error-summary');
    if (summary) summary.remove();
    form.querySelectorAll('.has-error').forEach(function (element) {
      var target = described(element), id = 'q-' + element.dataset.item + '-error';
      var error = document.getElementById(id);
      if (error) error.remove();
      element.classList.remove('has-error');
      target.removeAttribute('aria-invalid');
      setDescribedBy(target, (target.getAttribute('aria-describedby') || '').split(' ')
        .filter(function (token) { return token && token !== id; }));
    });
  }

  function make(tag, attributes, text) {
    var element = document.createElement(tag);
    Object.keys(attributes).forEach(function (name) { element.setAttribute(name, attributes[name]); });
    if (text) element.textContent = text;
    return element;
  }

  function showErrors(problems) {
    var summary = make('div', {'class': 'error-summary', role: 'alert', tabindex: '-1',
                               'aria-labelledby': 'error-summary-title'});
    var list = make('ul', {});
    summary.appendChild(make('h2', {id: 'error-summary-title'}, messages.summary));
    summary.appendChild(list);
    problems.forEach(function (pair) {
      var element = pair[0], id = 'q-' + element.dataset.item, text = message(element, pair[1]);
      var hint = element.querySelector('#' + id + '-hint'), target = described(element);
      var error = make('p', {'class': 'error', id: id + '-error'});
      if (form.dataset.errorLabel) {
        error.appendChild(make('span', {'class': 'visually-hidden'}, form.dataset.errorLabel));
      }
      error.appendChild(document.createTextNode(' ' + text));
      (hint || element.querySelector('legend, label')).after(error);
      element.classList.add('has-error');
      setDescribedBy(target, (hint ? [hint.id] : []).concat(error.id));
      if (target !== element) target.setAttribute('aria-invalid', 'true');
      list.appendChild(make('li', {})).appendChild(make('a', {href: '#' + id}, labelOf(element) + ': ' + text));
    });
    form.before(summary);
    summary.focus();
  }

  var pressed = null;
  form.addEventListener('click', function (event) {
    var button = event.target.closest && event.target.closest('button[name=action]');
    if (button) pressed = button;
  });
  form.addEventListener('input', update);
  form.addEventListener('change', update);
  form.addEventListener('submit', function (event) {
    var button = event.submitter || pressed, problems;
    if (button && (button.value === 'back' || button.name === 'save' || button.name === 'switch')) return;
    problems = update();
    if (problems.length) {
      event.preventDefault();
      clearErrors();
      showErrors(problems);
    }
  });
  update();
  autosave(form);

  // Post the page's answers to the draft (never moving on, never submitting) a second after the last
  // change, and at once when the page is hidden or closed; a press of a page button cancels it.
  function autosave(page) {
    var url = page.dataset.autosave, status = document.getElementById('autosave-status');
    var timer = null, dirty = false, DELAY = 1000;
    if (!url || !window.fetch || !window.FormData) return;

    function data() {
      var body = new FormData(page);
      body.delete('action');
      return body;
    }

    function save() {
      clearTimeout(timer);
      timer = null;
      if (!dirty) return;
      dirty = false;
      fetch(url, {method: 'POST', body: data(), credentials: 'same-origin', keepalive: true})
        .then(function (response) {
          if (!response.ok) { dirty = true; return; }
          if (status && page.dataset.saved) status.textContent = page.dataset.saved;
        })
        .catch(function () { dirty = true; });
    }

    function changed() {
      dirty = true;
      clearTimeout(timer);
      timer = setTimeout(save, DELAY);
    }

    page.addEventListener('input', changed);
    page.addEventListener('change', changed);
    page.addEventListener('submit', function (event) {
      if (event.defaultPrevented) return; // the page's checks stopped it: keep saving
      clearTimeout(timer);
      dirty = false;
    });
    document.addEventListener('visibilitychange', function () {
      if (document.visibilityState === 'hidden') save();
    });
    window.addEventListener('pagehide', save);
  }
}());
