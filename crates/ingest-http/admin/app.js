// The admin page's script: token handling, starting and following sync jobs,
// the list of recent runs, their reports and the quality panel.
//
// Security rules this file keeps (the page's CSP enforces the last one):
// - The admin token lives in sessionStorage only: never localStorage, never a
//   cookie, never a URL. It leaves the page only as an Authorization header
//   on same-origin API calls.
// - Every piece of data from the API (track names scraped from the web, error
//   messages, report text) reaches the page as a DOM text node (textContent,
//   createTextNode) or a checked http(s)/mailto href; nothing is ever parsed
//   as HTML. `require-trusted-types-for 'script'` makes the browser throw on
//   any HTML sink assignment, so a mistake fails loudly instead of opening a
//   hole.
'use strict';

(() => {
  const TOKEN_KEY = 'mre.admin.token';
  const API = '/api/v1/tracks';
  const POLL_MS = 1000;
  const RUNS_LIMIT = 20;
  const QUALITY_RUNS = 10;

  const $ = (id) => document.getElementById(id);

  const STAGES = {
    starting: 'Starting',
    catalogue: 'Reading the catalogue',
    diff: 'Comparing with the database',
    dashboards: 'Fetching dashboards',
    geocoding: 'Geocoding',
    database: 'Writing to the database',
    deactivation: 'Deactivating vanished tracks',
    report: 'Writing the report',
    done: 'Done',
  };

  const RUN_STATUS_TEXT = {
    succeeded: 'succeeded',
    guard_refused: 'deactivation refused by the guard',
    drift_suspected: 'markup drift suspected: fields held',
    format_error: 'the site changed shape',
    failed: 'failed',
    cancelled: 'cancelled',
  };

  /** Badge text of an outcome, where it is not the status itself. */
  const OUTCOME_LABEL = {
    drift_suspected: 'drift suspected',
    guard_refused: 'guard refused',
    format_error: 'format error',
  };

  /** The profile fields the markup-drift guard watches (the API's spelling). */
  const DRIFT_FIELDS = [
    'street', 'city', 'state', 'postal_code', 'country', 'country_code',
    'phone', 'website', 'email', 'description', 'logo_url', 'facebook_url',
  ];

  // ------------------------------------------------------------- DOM ---

  /** An element with optional class, text and attributes; children appended. */
  function el(tag, options = {}, ...children) {
    const node = document.createElement(tag);
    if (options.className) node.className = options.className;
    if (options.text !== undefined && options.text !== null) node.textContent = String(options.text);
    if (options.attrs) {
      for (const [name, value] of Object.entries(options.attrs)) {
        if (value !== undefined && value !== null && value !== false) node.setAttribute(name, String(value));
      }
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  function show(node, visible) {
    node.hidden = !visible;
  }

  // ----------------------------------------------------------- token ---

  function getToken() {
    try {
      return sessionStorage.getItem(TOKEN_KEY);
    } catch {
      return null;
    }
  }

  function setToken(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
  }

  function forgetToken() {
    try {
      sessionStorage.removeItem(TOKEN_KEY);
    } catch {
      // Storage unavailable: nothing was kept.
    }
  }

  // ------------------------------------------------------------- API ---

  class ApiError extends Error {
    constructor(status, code, message, jobId) {
      super(message);
      this.status = status;
      this.code = code;
      this.jobId = jobId || null;
    }
  }

  /** Calls the API with the stored token; JSON (or text) back, ApiError on failure. */
  async function api(path, { method = 'GET', body, text = false } = {}) {
    const token = getToken();
    if (!token) throw new ApiError(401, 'unauthorized', 'No admin token is set.');
    const headers = {
      Authorization: `Bearer ${token}`,
      Accept: text ? 'text/markdown, text/plain' : 'application/json',
    };
    const init = { method, headers, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (err) {
      throw new ApiError(0, 'network', `The API could not be reached (${err.message}).`);
    }
    if (!response.ok) {
      let code = `http_${response.status}`;
      let message = response.statusText || 'The request failed.';
      let jobId = null;
      try {
        const parsed = await response.json();
        if (parsed && parsed.error) {
          code = String(parsed.error.code || code);
          message = String(parsed.error.message || message);
          jobId = parsed.error.jobId || null;
        }
      } catch {
        // Not the API's error shape (a proxy's page): keep the status text.
      }
      throw new ApiError(response.status, code, message, jobId);
    }
    return text ? response.text() : response.json();
  }

  const jobUrl = (id) => `${API}/sync/${encodeURIComponent(id)}`;
  const reportUrl = (job) => job.reportUrl || `${jobUrl(job.jobId)}/report`;

  // -------------------------------------------------------- messages ---

  function setConnection(state, text) {
    const pill = $('connection');
    pill.dataset.state = state;
    pill.textContent = text;
  }

  function showNotice(text) {
    const node = $('notice');
    node.textContent = text;
    show(node, Boolean(text));
  }

  function showError(text) {
    const node = $('error-banner');
    node.textContent = text;
    show(node, Boolean(text));
  }

  function clearMessages() {
    showNotice('');
    showError('');
  }

  /** The token was refused, or there is none: ask for it again. */
  function askForToken(message) {
    forgetToken();
    stopPolling();
    const node = $('auth-error');
    node.textContent = message;
    show(node, true);
    show($('token-state'), false);
    setConnection('refused', 'Token refused');
    const input = $('token-input');
    input.value = '';
    input.focus();
  }

  /** One place that turns an API failure into what the user sees. */
  function handleError(err, doing) {
    if (!(err instanceof ApiError)) {
      showError(`${doing} failed: ${err && err.message ? err.message : String(err)}`);
      return;
    }
    if (err.status === 401) {
      askForToken(
        `The admin token was not accepted (401 ${err.code}): ${sentence(err.message)} Enter a valid token to continue.`,
      );
      return;
    }
    if (err.status === 409 && err.code === 'sync_active' && err.jobId) {
      showError('');
      // The API's message names the run in the way, its trigger and start.
      const detail = err.message && err.message.includes(err.jobId) ? sentence(err.message) : `Job ${err.jobId}.`;
      showNotice(`A sync is already active, nothing new was started: ${detail} Following that run instead.`);
      follow(err.jobId);
      return;
    }
    if (err.status === 503 && err.code === 'scrape_disabled') {
      showError(
        `Scraping is switched off by the kill switch (503 ${err.code}): nothing was started. ${sentence(err.message)}`,
      );
      return;
    }
    if (err.status === 503) {
      showError(`${doing} failed: the service is unavailable right now (503 ${err.code}). Try again shortly.`);
      return;
    }
    if (err.status === 0) {
      showError(`${doing} failed: ${err.message}`);
      return;
    }
    showError(`${doing} failed (${err.status} ${err.code}): ${sentence(err.message)}`);
  }

  // ------------------------------------------------------- formatting ---

  /** Local time; the year only when it is not this year's. */
  function formatTime(iso) {
    if (!iso) return '–';
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return iso;
    const sameYear = date.getFullYear() === new Date().getFullYear();
    return date.toLocaleString(undefined, {
      year: sameYear ? undefined : 'numeric', month: 'short', day: 'numeric',
      hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
  }

  function timeCell(iso) {
    return el('td', { className: 'when' }, iso ? el('time', { text: formatTime(iso), attrs: { datetime: iso, title: iso } }) : '–');
  }

  function formatDuration(seconds) {
    if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} m ${String(s % 60).padStart(2, '0')} s`;
    return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} m`;
  }

  const numberFormat = new Intl.NumberFormat();
  const formatCount = (n) => (typeof n === 'number' ? numberFormat.format(n) : '–');

  /** Percentage done, floored to one decimal so 100 means really done. */
  function percentDone(job) {
    if (job.total > 0) return Math.min(100, Math.floor((job.processed * 1000) / job.total) / 10);
    return job.status === 'succeeded' ? 100 : 0;
  }

  const isActive = (job) => job.status === 'queued' || job.status === 'running';

  /**
   * What a run's badge says: its job status, except that a succeeded job
   * whose run held fields (drift_suspected) or whose deactivation the guard
   * refused (guard_refused) shows that instead: a success with a warning,
   * neither failed nor plainly succeeded.
   */
  function outcomeOf(job) {
    if (job.status === 'succeeded' && (job.runStatus === 'drift_suspected' || job.runStatus === 'guard_refused')) {
      return job.runStatus;
    }
    return job.status;
  }

  const heldFields = (job) => (Array.isArray(job.driftHeldFields) ? job.driftHeldFields.map(String) : []);
  const acceptedFields = (job) => (job.request && Array.isArray(job.request.acceptDrift) ? job.request.acceptDrift.map(String) : []);

  /** "a", "a and b", "a, b and c". */
  function listText(items) {
    if (items.length <= 1) return items.join('');
    return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
  }

  /** A field list short enough for a button: the first three, then how many more. */
  function shortList(items) {
    if (items.length <= 3) return items.join(', ');
    return `${items.slice(0, 3).join(', ')} and ${items.length - 3} more`;
  }

  function badge(status, testid) {
    return el('span', {
      className: 'badge',
      text: OUTCOME_LABEL[status] || status,
      attrs: { 'data-status': status, 'data-testid': testid },
    });
  }

  /** What a held (or guard-refused) run did and what to do about it; null for other runs. */
  function heldExplanation(job) {
    const outcome = outcomeOf(job);
    if (outcome === 'drift_suspected') {
      const held = heldFields(job);
      const one = held.length === 1;
      return {
        kind: outcome,
        title: `Markup drift suspected: ${held.length > 0 ? `${held.join(', ')} held` : 'fields held'}`,
        text: `${held.length > 0 ? `The ${one ? 'field' : 'fields'} ${listText(held)} vanished` : 'Some fields vanished'} from too many tracks at once, so the site's markup has probably changed. `
          + `Every track kept its stored ${one ? 'value' : 'values'} of ${one ? 'this field' : 'these fields'}; the rest of the run was applied. `
          + `If the site really dropped ${one ? 'it' : 'them'}, re-run accepting the loss.`,
        held,
      };
    }
    if (outcome === 'guard_refused') {
      return {
        kind: outcome,
        title: 'Deactivation refused by the guard',
        text: 'Too many tracks vanished from the catalogue at once, so none was deactivated; the rest of the run was applied. '
          + 'If the removals are real, start a sync with "Force deactivation".',
        held: [],
      };
    }
    return null;
  }

  /** The button that re-runs a held run accepting exactly its held fields. */
  function acceptDriftLabel(held) {
    return `Re-run accepting ${shortList(held)}`;
  }

  /** An API message as a sentence. */
  const sentence = (text) => `${String(text).trim().replace(/[.\s]+$/, '')}.`;

  // ------------------------------------------------- following a job ---

  const follow_state = { jobId: null, timer: null, last: null };

  function stopPolling() {
    clearTimeout(follow_state.timer);
    follow_state.timer = null;
    follow_state.jobId = null;
  }

  function follow(jobId) {
    stopPolling();
    follow_state.jobId = jobId;
    show($('active-job'), true);
    $('active-job-id').textContent = jobId;
    $('start-sync').disabled = true;
    poll();
  }

  async function poll() {
    const id = follow_state.jobId;
    if (!id) return;
    let job;
    try {
      job = await api(jobUrl(id));
    } catch (err) {
      if (follow_state.jobId !== id) return;
      if (err instanceof ApiError && (err.status === 401 || err.status === 404)) {
        handleError(err, 'Following the run');
        stopPolling();
        $('start-sync').disabled = false;
        return;
      }
      // A transient failure: say so, keep following at a slower pace.
      handleError(err, 'Following the run');
      follow_state.timer = setTimeout(poll, POLL_MS * 3);
      return;
    }
    if (follow_state.jobId !== id) return;
    renderActive(job);
    updateRunRow(job);
    if (isActive(job)) {
      follow_state.timer = setTimeout(poll, POLL_MS);
    } else {
      follow_state.jobId = null;
      $('start-sync').disabled = false;
      loadRuns();
      loadQuality();
    }
  }

  function renderActive(job) {
    follow_state.last = job;
    show($('active-job'), true);
    $('active-job-id').textContent = job.jobId;
    const outcome = outcomeOf(job);
    const status = $('active-status');
    status.textContent = job.cancelRequested && isActive(job) ? `${job.status}, cancelling` : OUTCOME_LABEL[outcome] || outcome;
    status.dataset.status = outcome;
    const accepting = acceptedFields(job);
    const acceptingNode = $('active-accepting');
    acceptingNode.textContent = accepting.length > 0 ? ` · accepting the loss of ${accepting.join(', ')}` : '';
    show(acceptingNode, accepting.length > 0);

    const bar = $('progress');
    const pct = percentDone(job);
    const known = job.total > 0 || !isActive(job);
    bar.dataset.status = outcome;
    bar.classList.toggle('indeterminate', !known);
    if (known) {
      bar.setAttribute('aria-valuenow', String(pct));
      bar.setAttribute('aria-valuetext', `${formatCount(job.processed)} of ${formatCount(job.total)} tracks, ${pct}%`);
      $('progress-fill').style.width = `${pct}%`;
    } else {
      // Indeterminate (ARIA): no value until the catalogue says how many.
      bar.removeAttribute('aria-valuenow');
      bar.setAttribute('aria-valuetext', job.status === 'queued' ? 'Waiting for a worker' : 'Starting');
      $('progress-fill').style.width = '';
    }
    $('progress-count').textContent = job.total > 0 ? `${formatCount(job.processed)} / ${formatCount(job.total)}` : '–';
    $('progress-percent').textContent = known ? `${pct}%` : '–';
    $('progress-stage').textContent = job.status === 'queued' ? 'Waiting for a worker' : STAGES[job.stage] || job.stage;
    const hasEta = job.etaSeconds !== null && job.etaSeconds !== undefined;
    let eta = '–';
    if (isActive(job) && hasEta) eta = formatDuration(job.etaSeconds);
    else if (!isActive(job) && job.durationSeconds !== null) eta = `none (took ${formatDuration(job.durationSeconds)})`;
    $('progress-eta').textContent = eta;

    const explanation = isActive(job) ? null : heldExplanation(job);
    const heldBox = $('active-held');
    if (explanation) {
      heldBox.dataset.kind = explanation.kind;
      $('active-held-title').textContent = explanation.title;
      $('active-held-text').textContent = explanation.text;
      const message = $('active-held-message');
      message.textContent = job.error ? `Worker's message: ${sentence(job.error)}` : '';
      show(message, Boolean(job.error));
      const rerun = $('active-accept-drift');
      rerun.textContent = explanation.held.length > 0 ? acceptDriftLabel(explanation.held) : '';
      rerun.setAttribute('aria-label', `Re-run accepting the loss of ${listText(explanation.held)}`);
      show(rerun, explanation.held.length > 0);
    }
    show(heldBox, Boolean(explanation));

    const pending = $('active-pending');
    const nPending = job.tracksPendingDeactivation || 0;
    pending.textContent = nPending > 0 ? pendingText(nPending) : '';
    show(pending, nPending > 0 && !isActive(job));

    const error = $('active-error');
    const problems = [];
    // A held run's message is in the box above: the red one is for failures.
    if (job.error && !explanation) problems.push(job.error);
    if (job.metadataFailures > 0) {
      problems.push(job.metadataFailures === 1
        ? '1 track dashboard failed; its stored fields were kept.'
        : `${formatCount(job.metadataFailures)} track dashboards failed; their stored fields were kept.`);
    }
    error.textContent = problems.join(' ');
    show(error, problems.length > 0);

    const cancel = $('active-cancel');
    show(cancel, isActive(job));
    cancel.disabled = job.cancelRequested;
    show($('active-resume'), job.status === 'failed' || job.status === 'cancelled');
    show($('active-report'), !isActive(job) && (Boolean(job.reportUrl) || job.runStatus !== null));
  }

  function pendingText(n) {
    return n === 1
      ? '1 track is missing from the catalogue, pending deactivation: it is deactivated only if it stays missing from further complete catalogues.'
      : `${formatCount(n)} tracks are missing from the catalogue, pending deactivation: each is deactivated only if it stays missing from further complete catalogues.`;
  }

  // ------------------------------------------------------- actions ---

  /** The "Accept drift" choice of the start form: ["all"], field names, or none. */
  function acceptDriftChoice() {
    if ($('opt-drift-all').checked) return ['all'];
    return Array.from(document.querySelectorAll('#opt-drift input[name="accept-drift"]'))
      .filter((box) => box.checked && box.value !== 'all' && DRIFT_FIELDS.includes(box.value))
      .map((box) => box.value);
  }

  /** Keep the form's drift control coherent: "all" covers (and greys out) the rest. */
  function updateDriftControl() {
    const all = $('opt-drift-all').checked;
    for (const box of document.querySelectorAll('#opt-drift input[name="accept-drift"]')) {
      if (box.value !== 'all') box.disabled = all;
    }
    const choice = acceptDriftChoice();
    const summary = $('opt-drift-summary');
    summary.textContent = choice.length === 0 ? 'none' : choice[0] === 'all' ? 'all fields' : shortList(choice);
    summary.dataset.chosen = String(choice.length > 0);
  }

  function resetDriftControl() {
    for (const box of document.querySelectorAll('#opt-drift input[name="accept-drift"]')) box.checked = false;
    $('opt-drift').open = false;
    updateDriftControl();
  }

  /** POST a sync request and follow the job it starts; false when none started. */
  async function postSync(body, describe) {
    const button = $('start-sync');
    button.disabled = true;
    try {
      const job = await api(`${API}/sync`, { method: 'POST', body });
      showNotice(describe(job));
      renderActive(job);
      follow(job.jobId);
      loadRuns();
      return true;
    } catch (err) {
      button.disabled = false;
      handleError(err, 'Starting a sync');
      return false;
    }
  }

  /** A new run with the held run's options, accepting exactly the fields it held. */
  async function rerunAcceptingDrift(job) {
    const held = heldFields(job).filter((f) => DRIFT_FIELDS.includes(f));
    if (held.length === 0) return;
    clearMessages();
    const one = held.length === 1;
    const confirmed = window.confirm(
      `Start a new sync that accepts the loss of ${listText(held)}?\n\n`
      + `Tracks whose dashboard no longer shows ${one ? 'this field' : 'these fields'} get ${one ? 'it' : 'them'} cleared, `
      + 'and the change is recorded in their history. Do this only if the site really dropped '
      + `${one ? 'it' : 'them'}, not if its markup changed.`,
    );
    if (!confirmed) return;
    const body = { acceptDrift: held };
    const request = job.request || {};
    // Dashboards must be fetched for the loss to be seen again.
    if (request.metadata && request.metadata !== 'none') body.metadata = request.metadata;
    if (Number.isInteger(request.concurrency)) body.concurrency = request.concurrency;
    await postSync(body, (started) => `Sync started accepting the loss of ${listText(held)}: job ${started.jobId}.`);
  }

  async function startSync(event) {
    event.preventDefault();
    clearMessages();
    const body = {};
    const metadata = $('opt-metadata').value;
    if (metadata) body.metadata = metadata;
    const concurrencyText = $('opt-concurrency').value.trim();
    if (concurrencyText) {
      const concurrency = Number(concurrencyText);
      if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
        showError('Concurrency must be a whole number between 1 and 64.');
        $('opt-concurrency').focus();
        return;
      }
      body.concurrency = concurrency;
    }
    if ($('opt-force').checked) body.force = true;
    const accept = acceptDriftChoice();
    if (accept.length > 0) body.acceptDrift = accept;
    const started = await postSync(body, (job) => (accept.length > 0
      ? `Sync started accepting the loss of ${accept[0] === 'all' ? 'any field' : listText(accept)}: job ${job.jobId}.`
      : `Sync started: job ${job.jobId}.`));
    // Accepting drift is a decision for one run: it is not carried over.
    if (started) resetDriftControl();
  }

  async function cancelJob(jobId) {
    clearMessages();
    try {
      const job = await api(`${jobUrl(jobId)}/cancel`, { method: 'POST' });
      showNotice(job.status === 'cancelled' ? `Job ${jobId} cancelled.` : `Cancellation of job ${jobId} requested; it stops after its current batch.`);
      updateRunRow(job);
      follow(jobId);
    } catch (err) {
      handleError(err, 'Cancelling the run');
    }
  }

  async function resumeJob(jobId) {
    clearMessages();
    try {
      const job = await api(`${jobUrl(jobId)}/resume`, { method: 'POST' });
      showNotice(`Job ${jobId} queued again; it continues from its checkpoint.`);
      updateRunRow(job);
      follow(jobId);
    } catch (err) {
      handleError(err, 'Resuming the run');
    }
  }

  // ------------------------------------------------------- run list ---

  const runs_state = { jobs: new Map() };

  async function loadRuns() {
    let list;
    try {
      list = await api(`${API}/sync?limit=${RUNS_LIMIT}`);
    } catch (err) {
      handleError(err, 'Loading the runs');
      return false;
    }
    setConnection('connected', 'Connected');
    const body = $('runs-body');
    body.replaceChildren();
    runs_state.jobs.clear();
    for (const job of list.items) {
      runs_state.jobs.set(job.jobId, job);
      body.append(...runRows(job));
    }
    show($('runs-empty'), list.items.length === 0);
    body.dataset.loaded = String(Date.now());
    // A run already active (started elsewhere, or before a reload): follow it.
    const active = list.items.find(isActive);
    if (active && !follow_state.jobId) follow(active.jobId);
    return true;
  }

  /** Replace a job's rows in the list, if it is shown. */
  function updateRunRow(job) {
    const body = $('runs-body');
    const rows = body.querySelectorAll('tr[data-job-id]');
    const existing = Array.from(rows).filter((row) => row.dataset.jobId === job.jobId);
    if (existing.length === 0) return;
    runs_state.jobs.set(job.jobId, job);
    const fresh = runRows(job);
    existing[0].replaceWith(...fresh);
    for (const row of existing.slice(1)) row.remove();
  }

  function runRows(job) {
    const shown = outcomeOf(job);
    const outcome = el('td', {}, badge(shown, 'run-status'));
    const held = heldFields(job);
    if (shown === 'drift_suspected') {
      outcome.append(el('span', {
        className: 'sub held',
        text: held.length > 0 ? `held: ${held.join(', ')}` : 'fields held',
        attrs: { 'data-testid': 'run-held-fields' },
      }));
    } else if (shown === 'guard_refused') {
      outcome.append(el('span', { className: 'sub guard', text: 'nothing deactivated' }));
    } else if (job.runStatus && job.runStatus !== job.status) {
      outcome.append(el('span', { className: 'sub warn', text: RUN_STATUS_TEXT[job.runStatus] || job.runStatus }));
    }
    const accepting = acceptedFields(job);
    if (accepting.length > 0) {
      outcome.append(el('span', {
        className: 'sub',
        text: `accepting loss of ${accepting.join(', ')}`,
        attrs: { 'data-testid': 'run-accepting' },
      }));
    }
    if (job.cancelRequested && isActive(job)) outcome.append(el('span', { className: 'sub', text: 'cancel requested' }));
    if (job.status === 'running' && job.total > 0) {
      outcome.append(el('span', { className: 'sub', text: `${formatCount(job.processed)} / ${formatCount(job.total)}` }));
    }
    if (job.attempts > 1) outcome.append(el('span', { className: 'sub', text: `${job.attempts} attempts` }));

    const actions = el('td', { className: 'actions-cell' });
    if (!isActive(job) && (job.reportUrl || job.runStatus !== null)) {
      actions.append(button('Report', 'run-report', () => openReport(job), `Show the report of the run created ${formatTime(job.createdAt)}`));
    }
    if (job.status === 'failed' || job.status === 'cancelled') {
      actions.append(button('Resume', 'run-resume', () => resumeJob(job.jobId)));
    }
    if (isActive(job) && !job.cancelRequested) {
      actions.append(button('Cancel', 'run-cancel', () => cancelJob(job.jobId), null, 'danger'));
    }

    const deactivated = el('td', { className: 'num', text: formatCount(job.tracksDeactivated) });
    if (job.tracksPendingDeactivation > 0) {
      deactivated.append(el('span', {
        className: 'sub',
        text: `${formatCount(job.tracksPendingDeactivation)} pending`,
        attrs: {
          'data-testid': 'run-pending',
          title: 'Missing from the catalogue; deactivated only if still missing from further complete catalogues',
        },
      }));
    }

    const row = el('tr', {
      attrs: { 'data-testid': 'run-row', 'data-job-id': job.jobId, 'data-status': job.status, 'data-outcome': shown },
    },
      timeCell(job.createdAt),
      el('td', { text: job.trigger }),
      outcome,
      timeCell(job.completedAt),
      el('td', { className: 'num', text: formatDuration(job.durationSeconds) }),
      el('td', { className: 'num', text: formatCount(job.tracksAdded) }),
      el('td', { className: 'num', text: formatCount(job.tracksUpdated) }),
      deactivated,
      el('td', { className: 'num', text: formatCount(job.tracksReactivated) }),
      el('td', { className: 'num', text: formatCount(job.metadataFailures), attrs: { 'data-testid': 'run-metadata-failures' } }),
      actions);
    if (follow_state.jobId === job.jobId) row.classList.add('is-active');
    const rows = [row];

    const explanation = isActive(job) ? null : heldExplanation(job);
    if (explanation) rows.push(heldRow(job, explanation));
    const failed = job.status === 'failed' || job.runStatus === 'failed' || job.runStatus === 'format_error';
    if (failed || job.metadataFailures > 0 || (job.error && !isActive(job) && !explanation)) {
      rows.push(problemRow(job));
    }
    return rows;
  }

  /** Under a held (or guard-refused) run: what happened, the worker's words, the way out. */
  function heldRow(job, explanation) {
    const cell = el('td', { attrs: { colspan: 11 } },
      el('p', { className: 'held-title', text: explanation.title, attrs: { 'data-testid': 'run-held-title' } }),
      el('p', { className: 'held-text', text: explanation.text }));
    if (job.error) {
      cell.append(el('p', { className: 'held-message', text: `Worker's message: ${sentence(job.error)}`, attrs: { 'data-testid': 'run-held-message' } }));
    }
    if (explanation.held.length > 0) {
      const rerun = button(acceptDriftLabel(explanation.held), 'run-accept-drift', () => rerunAcceptingDrift(job),
        `Re-run accepting the loss of ${listText(explanation.held)}`, 'held-action');
      cell.append(rerun);
    }
    return el('tr', {
      className: `problems ${explanation.kind === 'drift_suspected' ? 'held' : 'guard'}`,
      attrs: { 'data-testid': 'run-held', 'data-job-id': job.jobId, 'data-kind': explanation.kind },
    }, cell);
  }

  function button(label, testid, onClick, ariaLabel = null, className = 'small') {
    const node = el('button', {
      className: className === 'small' ? 'small' : `small ${className}`,
      text: label,
      attrs: { type: 'button', 'data-testid': testid, 'aria-label': ariaLabel },
    });
    node.addEventListener('click', onClick);
    return node;
  }

  /** The error and the metadata-failure summary of a run, under its row. */
  function problemRow(job) {
    const cell = el('td', { attrs: { colspan: 11 } });
    // A held run's message is in its own row above, not shown as an error.
    if (job.error && !heldExplanation(job)) cell.append(el('p', { className: 'problem-text', text: `Error: ${job.error}` }));
    if (job.metadataFailures > 0) {
      const n = job.metadataFailures;
      cell.append(el('p', {
        className: 'problem-text',
        text: `${formatCount(n)} metadata failure${n === 1 ? '' : 's'}: ${n === 1 ? 'this track keeps its' : 'these tracks keep their'} stored fields.`,
        attrs: { 'data-testid': 'run-metadata-summary' },
      }));
      const details = el('div', { className: 'markdown', attrs: { 'data-testid': 'run-metadata-errors-body' } });
      details.hidden = true;
      const toggle = button('Show metadata errors', 'run-metadata-errors', async () => {
        if (!details.hidden) {
          details.hidden = true;
          toggle.textContent = 'Show metadata errors';
          toggle.setAttribute('aria-expanded', 'false');
          return;
        }
        toggle.disabled = true;
        try {
          const markdown = await api(reportUrl(job), { text: true });
          const section = Markdown.section(Markdown.parse(markdown), 'Metadata errors');
          details.replaceChildren(section.length > 0
            ? Markdown.render(section, 1)
            : el('p', { text: 'The report has no "Metadata errors" section.' }));
          details.hidden = false;
          toggle.textContent = 'Hide metadata errors';
          toggle.setAttribute('aria-expanded', 'true');
        } catch (err) {
          handleError(err, 'Loading the metadata errors');
        } finally {
          toggle.disabled = false;
        }
      });
      toggle.setAttribute('aria-expanded', 'false');
      cell.append(toggle, details);
    }
    return el('tr', { className: 'problems', attrs: { 'data-testid': 'run-problems', 'data-job-id': job.jobId } }, cell);
  }

  // --------------------------------------------------------- report ---

  async function openReport(job) {
    clearMessages();
    const panel = $('report-panel');
    const body = $('report-body');
    let markdown;
    try {
      markdown = await api(reportUrl(job), { text: true });
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        showError(`No report is archived for job ${job.jobId} yet.`);
        return;
      }
      handleError(err, 'Loading the report');
      return;
    }
    $('report-meta').textContent = `Job ${job.jobId} · ${OUTCOME_LABEL[outcomeOf(job)] || outcomeOf(job)}${job.completedAt ? ` · finished ${formatTime(job.completedAt)}` : ''}`;
    // Report headings start at h1; the page has its own h1 and h2s, so the
    // report's levels are shifted down by one.
    body.replaceChildren(Markdown.render(Markdown.parse(markdown), 1));
    // The drift guard's held fields head the report: make the section stand out.
    for (const heading of body.querySelectorAll('h3')) {
      if (heading.textContent.startsWith('Markup drift suspected')) heading.classList.add('held-heading');
    }
    body.dataset.jobId = job.jobId;
    show(panel, true);
    panel.scrollIntoView({ behavior: 'smooth', block: 'start' });
    $('report-close').focus({ preventScroll: true });
  }

  // -------------------------------------------------------- quality ---

  const QUALITY_FIELDS = ['address', 'phone', 'email', 'website', 'coordinates'];

  async function loadQuality() {
    let history;
    try {
      history = await api(`${API}/quality?runs=${QUALITY_RUNS}`);
    } catch (err) {
      handleError(err, 'Loading the quality figures');
      return;
    }
    const body = $('quality-body');
    body.replaceChildren();
    history.runs.forEach((run, index) => {
      const older = history.runs[index + 1];
      const row = el('tr', { attrs: { 'data-testid': 'quality-row', 'data-run-id': run.runId } },
        timeCell(run.finishedAt),
        el('td', {}, badge(run.status, 'quality-status')),
        el('td', { className: 'num', text: formatCount(run.activeTracks) }));
      for (const field of QUALITY_FIELDS) {
        const pct = run.completeness[field];
        const count = run.counts[`with${field[0].toUpperCase()}${field.slice(1)}`];
        const cell = el('td', { className: 'quality-cell', attrs: { 'data-field': field } },
          el('span', { className: 'pct', text: `${pct.toFixed(1)}%` }));
        if (older) {
          const delta = Math.round((pct - older.completeness[field]) * 10) / 10;
          if (delta !== 0) {
            cell.append(el('span', {
              className: `delta ${delta > 0 ? 'up' : 'down'}`,
              text: `${delta > 0 ? '+' : '−'}${Math.abs(delta).toFixed(1)}`,
              attrs: { title: 'Change since the run before' },
            }));
          }
        }
        cell.append(el('meter', {
          text: `${pct}%`,
          attrs: { min: 0, max: 100, value: pct, 'aria-label': `${field}: ${pct}% (${formatCount(count)} tracks)`, title: `${formatCount(count)} of ${formatCount(run.activeTracks)} tracks` },
        }));
        row.append(cell);
      }
      row.append(
        el('td', { className: 'num', text: formatCount(run.validationAnomalies) }),
        el('td', { className: 'num', text: formatCount(run.metadataFailures) }));
      body.append(row);
    });
    show($('quality-empty'), history.runs.length === 0);
  }

  // ------------------------------------------------------ Markdown ---
  //
  // A small Markdown renderer for what the run reports use: ATX and setext
  // headings, paragraphs, GFM tables (alignment, escaped pipes), ordered and
  // bullet lists (nested), fenced code, block quotes, rules; inline: strong,
  // emphasis, code spans, backslash escapes, entities, links and http(s)
  // autolinks. It builds DOM nodes; text is only ever set as text.

  const Markdown = (() => {
    const FENCE = /^ {0,3}(`{3,}|~{3,})[ \t]*([^`\s]*)[^`]*$/;
    const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$/;
    const RULE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
    const QUOTE = /^ {0,3}> ?(.*)$/;
    const ITEM = /^( {0,3})([-*+]|\d{1,9}[.)])([ \t]+(.*))?$/;
    const SETEXT = /^ {0,3}(=+|-+)[ \t]*$/;
    const DELIMITER_ROW = /^ {0,3}\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$/;
    const BLANK = /^[ \t]*$/;

    const isBlank = (line) => BLANK.test(line);
    const indentOf = (line) => line.length - line.replace(/^ +/, '').length;

    /** Cells of a table row: split at pipes not escaped by a backslash. */
    function splitRow(line) {
      let s = line.trim();
      if (s.startsWith('|')) s = s.slice(1);
      if (s.endsWith('|') && !s.endsWith('\\|')) s = s.slice(0, -1);
      const cells = [];
      let cell = '';
      for (let i = 0; i < s.length; i++) {
        const c = s[i];
        if (c === '|') {
          if (i > 0 && s[i - 1] === '\\') {
            // An escaped pipe is content (GFM): the backslash goes, even
            // inside a code span.
            cell = `${cell.slice(0, -1)}|`;
          } else {
            cells.push(cell.trim());
            cell = '';
          }
        } else {
          cell += c;
        }
      }
      cells.push(cell.trim());
      return cells;
    }

    function isTableStart(lines, i) {
      return i + 1 < lines.length && lines[i].includes('|') && DELIMITER_ROW.test(lines[i + 1])
        && lines[i + 1].includes('-')
        && splitRow(lines[i]).length === splitRow(lines[i + 1]).length;
    }

    function startsBlock(lines, i) {
      const line = lines[i];
      return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line)
        || ITEM.test(line) || isTableStart(lines, i);
    }

    function parseTable(lines, i) {
      const head = splitRow(lines[i]);
      const align = splitRow(lines[i + 1]).map((spec) => {
        const left = spec.startsWith(':');
        const right = spec.endsWith(':');
        if (left && right) return 'center';
        if (right) return 'right';
        return left ? 'left' : null;
      });
      const rows = [];
      let j = i + 2;
      while (j < lines.length && !isBlank(lines[j]) && lines[j].includes('|')
             && !FENCE.test(lines[j]) && !HEADING.test(lines[j]) && !QUOTE.test(lines[j])) {
        const cells = splitRow(lines[j]);
        rows.push(head.map((_, k) => (k < cells.length ? cells[k] : '')));
        j++;
      }
      return [{ type: 'table', head, align, rows }, j];
    }

    function parseList(lines, i) {
      const first = ITEM.exec(lines[i]);
      const ordered = /\d/.test(first[2]);
      const bullet = first[2].slice(-1);
      const items = [];
      let loose = false;
      let j = i;
      // An item of this same list (same kind of marker).
      const sameList = (line) => {
        const m = ITEM.exec(line);
        return m !== null && /\d/.test(m[2]) === ordered && m[2].slice(-1) === bullet ? m : null;
      };
      while (j < lines.length) {
        const m = sameList(lines[j]);
        if (!m) break;
        const gap = m[3] ? m[3].length - m[3].trimStart().length : 1;
        const width = m[1].length + m[2].length + (gap > 4 ? 1 : gap);
        const content = [m[4] === undefined ? '' : (gap > 4 ? m[3].slice(1) : m[4])];
        j++;
        let sawBlank = false;
        while (j < lines.length) {
          const line = lines[j];
          if (isBlank(line)) {
            sawBlank = true;
            content.push('');
            j++;
            continue;
          }
          if (indentOf(line) >= width) {
            if (sawBlank) loose = true;
            sawBlank = false;
            content.push(line.slice(width));
            j++;
            continue;
          }
          // A lazy continuation line of the item's paragraph.
          if (!sawBlank && !startsBlock(lines, j) && content.length > 0 && !isBlank(content[content.length - 1])) {
            content.push(line.trim());
            j++;
            continue;
          }
          break;
        }
        // Trailing blank lines belong between blocks, not to the item.
        while (content.length > 0 && isBlank(content[content.length - 1])) content.pop();
        if (sawBlank && j < lines.length && sameList(lines[j])) loose = true;
        items.push(parseLines(content));
      }
      const start = ordered ? parseInt(first[2], 10) : 1;
      return [{ type: 'list', ordered, start, loose, items }, j];
    }

    function parseLines(lines) {
      const blocks = [];
      let i = 0;
      while (i < lines.length) {
        const line = lines[i];
        if (isBlank(line)) {
          i++;
          continue;
        }
        let m = FENCE.exec(line);
        if (m) {
          const marker = m[1];
          const body = [];
          i++;
          while (i < lines.length) {
            const close = lines[i].trim();
            if (close.length >= marker.length && close === marker[0].repeat(close.length)) {
              i++;
              break;
            }
            body.push(lines[i]);
            i++;
          }
          blocks.push({ type: 'code', lang: m[2], text: body.join('\n') });
          continue;
        }
        m = HEADING.exec(line);
        if (m) {
          const text = (m[2] || '').replace(/(^|[ \t]+)#+[ \t]*$/, '').trim();
          blocks.push({ type: 'heading', level: m[1].length, text });
          i++;
          continue;
        }
        if (RULE.test(line)) {
          blocks.push({ type: 'rule' });
          i++;
          continue;
        }
        if (QUOTE.test(line)) {
          const inner = [];
          while (i < lines.length && QUOTE.test(lines[i])) {
            inner.push(QUOTE.exec(lines[i])[1]);
            i++;
          }
          blocks.push({ type: 'quote', children: parseLines(inner) });
          continue;
        }
        if (ITEM.test(line)) {
          const [list, next] = parseList(lines, i);
          blocks.push(list);
          i = next;
          continue;
        }
        if (isTableStart(lines, i)) {
          const [table, next] = parseTable(lines, i);
          blocks.push(table);
          i = next;
          continue;
        }
        // A paragraph: until a blank line or another block; a setext
        // underline turns it into a heading.
        const text = [line.trim()];
        i++;
        let heading = 0;
        while (i < lines.length && !isBlank(lines[i])) {
          const setext = SETEXT.exec(lines[i]);
          if (setext) {
            heading = setext[1][0] === '=' ? 1 : 2;
            i++;
            break;
          }
          if (startsBlock(lines, i)) break;
          text.push(lines[i].replace(/^[ \t]+/, ''));
          i++;
        }
        blocks.push(heading ? { type: 'heading', level: heading, text: text.join(' ') }
          : { type: 'paragraph', text: text.join('\n') });
      }
      return blocks;
    }

    function parse(source) {
      return parseLines(String(source).replace(/\r\n?/g, '\n').split('\n'));
    }

    /** The blocks under the heading `title`, up to the next heading of its level or above. */
    function section(blocks, title) {
      const start = blocks.findIndex((b) => b.type === 'heading' && plain(b.text) === title);
      if (start < 0) return [];
      const level = blocks[start].level;
      let end = start + 1;
      while (end < blocks.length && !(blocks[end].type === 'heading' && blocks[end].level <= level)) end++;
      return blocks.slice(start, end);
    }

    // ------------------------------------------------------- inline ---

    const ASCII_PUNCT = /[!-/:-@[-`{-~]/;
    const PUNCT = /[\p{P}\p{S}]/u;
    const SPACE = /\s/u;
    const ENTITY = /^&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([A-Za-z][A-Za-z0-9]{1,31}));/;
    const NAMED = {
      amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0', ndash: '–', mdash: '—',
      hellip: '…', copy: '©', reg: '®', trade: '™', laquo: '«', raquo: '»', times: '×', minus: '−',
    };
    const AUTOLINK = /^<((?:https?:\/\/|mailto:)[^<>\s]+)>/i;
    const BARE_URL = /https?:\/\/[^\s<>]+/gi;

    function decodeEntity(m) {
      let code = null;
      if (m[1]) code = parseInt(m[1], 10);
      else if (m[2]) code = parseInt(m[2], 16);
      else return Object.prototype.hasOwnProperty.call(NAMED, m[3]) ? NAMED[m[3]] : null;
      if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return '\ufffd';
      return String.fromCodePoint(code);
    }

    /** Flat tokens: text, code, br, delimiter runs, brackets, links. */
    function tokenize(s) {
      const tokens = [];
      let buf = '';
      const flush = () => {
        if (buf) tokens.push({ t: 'text', v: buf });
        buf = '';
      };
      let i = 0;
      while (i < s.length) {
        const c = s[i];
        if (c === '\\') {
          const next = s[i + 1];
          if (next === '\n') {
            flush();
            tokens.push({ t: 'br' });
            i += 2;
            continue;
          }
          if (next !== undefined && ASCII_PUNCT.test(next)) {
            buf += next;
            i += 2;
            continue;
          }
          buf += c;
          i++;
          continue;
        }
        if (c === '`') {
          let run = 1;
          while (s[i + run] === '`') run++;
          let j = i + run;
          let close = -1;
          while (j < s.length) {
            if (s[j] === '`') {
              let r = 1;
              while (s[j + r] === '`') r++;
              if (r === run) {
                close = j;
                break;
              }
              j += r;
            } else {
              j++;
            }
          }
          if (close < 0) {
            buf += '`'.repeat(run);
            i += run;
            continue;
          }
          let code = s.slice(i + run, close).replace(/\n/g, ' ');
          if (code.length >= 2 && code[0] === ' ' && code[code.length - 1] === ' ' && /[^ ]/.test(code)) {
            code = code.slice(1, -1);
          }
          flush();
          tokens.push({ t: 'code', v: code });
          i = close + run;
          continue;
        }
        if (c === '&') {
          const m = ENTITY.exec(s.slice(i));
          const decoded = m ? decodeEntity(m) : null;
          if (decoded !== null) {
            buf += decoded;
            i += m[0].length;
            continue;
          }
          buf += c;
          i++;
          continue;
        }
        if (c === '*' || c === '_') {
          let run = 1;
          while (s[i + run] === c) run++;
          const before = i > 0 ? s[i - 1] : ' ';
          const after = i + run < s.length ? s[i + run] : ' ';
          const spaceBefore = SPACE.test(before);
          const spaceAfter = SPACE.test(after);
          const punctBefore = PUNCT.test(before);
          const punctAfter = PUNCT.test(after);
          const left = !spaceAfter && (!punctAfter || spaceBefore || punctBefore);
          const right = !spaceBefore && (!punctBefore || spaceAfter || punctAfter);
          const open = c === '*' ? left : left && (!right || punctBefore);
          const close = c === '*' ? right : right && (!left || punctAfter);
          flush();
          tokens.push({ t: 'delim', ch: c, n: run, open, close });
          i += run;
          continue;
        }
        if (c === '<') {
          const m = AUTOLINK.exec(s.slice(i));
          if (m) {
            flush();
            tokens.push({ t: 'link', url: m[1], children: [{ t: 'text', v: m[1] }] });
            i += m[0].length;
            continue;
          }
        }
        if (c === '[') {
          flush();
          tokens.push({ t: 'open' });
          i++;
          continue;
        }
        if (c === ']') {
          const m = /^\]\([ \t]*(<[^<>\n]*>|[^\s()<>]*(?:\([^\s()<>]*\)[^\s()<>]*)*)(?:[ \t]+"[^"\n]*")?[ \t]*\)/.exec(s.slice(i));
          flush();
          if (m) {
            const url = m[1].startsWith('<') ? m[1].slice(1, -1) : m[1];
            tokens.push({ t: 'close', url, raw: m[0] });
            i += m[0].length;
          } else {
            tokens.push({ t: 'close', url: null, raw: ']' });
            i++;
          }
          continue;
        }
        if (c === '\n') {
          // Two trailing spaces make a hard break; otherwise a soft one.
          if (/ {2,}$/.test(buf)) {
            buf = buf.replace(/ +$/, '');
            flush();
            tokens.push({ t: 'br' });
          } else {
            buf = `${buf.replace(/ +$/, '')}\n`;
          }
          i++;
          continue;
        }
        buf += c;
        i++;
      }
      flush();
      return tokens;
    }

    /** Brackets followed by a destination become links; the rest is text. */
    function resolveLinks(tokens) {
      const out = [];
      for (let i = 0; i < tokens.length; i++) {
        const tk = tokens[i];
        if (tk.t === 'open') {
          let depth = 0;
          let close = -1;
          for (let j = i + 1; j < tokens.length; j++) {
            if (tokens[j].t === 'open') depth++;
            if (tokens[j].t === 'close') {
              if (depth === 0) {
                close = j;
                break;
              }
              depth--;
            }
          }
          if (close > 0 && tokens[close].url !== null) {
            out.push({ t: 'link', url: tokens[close].url, children: resolveLinks(tokens.slice(i + 1, close)) });
            i = close;
            continue;
          }
          out.push({ t: 'text', v: '[' });
          continue;
        }
        if (tk.t === 'close') {
          out.push({ t: 'text', v: tk.raw });
          continue;
        }
        out.push(tk);
      }
      return out;
    }

    /** Matching delimiter runs become emphasis; unmatched ones are text. */
    function resolveEmphasis(tokens) {
      const out = [];
      for (let i = 0; i < tokens.length; i++) {
        const tk = tokens[i];
        if (tk.t === 'delim') {
          if (tk.open) {
            let close = -1;
            for (let j = i + 1; j < tokens.length; j++) {
              const u = tokens[j];
              if (u.t === 'delim' && u.ch === tk.ch && u.n === tk.n && u.close) {
                close = j;
                break;
              }
            }
            if (close > i + 1) {
              let node = { t: tk.n === 1 ? 'em' : 'strong', children: resolveEmphasis(tokens.slice(i + 1, close)) };
              if (tk.n >= 3) node = { t: 'em', children: [node] };
              out.push(node);
              i = close;
              continue;
            }
          }
          out.push({ t: 'text', v: tk.ch.repeat(tk.n) });
          continue;
        }
        if (tk.t === 'link') {
          out.push({ ...tk, children: resolveEmphasis(tk.children) });
          continue;
        }
        out.push(tk);
      }
      return out;
    }

    function inline(s) {
      return resolveEmphasis(resolveLinks(tokenize(s)));
    }

    /** The text of inline Markdown, without markup (for matching headings). */
    function plain(s) {
      const walk = (nodes) => nodes.map((n) => (n.children ? walk(n.children) : n.v || '')).join('');
      return walk(inline(s)).trim();
    }

    /** An http(s) or mailto URL, resolved; anything else (javascript:, data:) is refused. */
    function safeHref(raw) {
      try {
        const url = new URL(raw, window.location.href);
        if (url.protocol === 'http:' || url.protocol === 'https:' || url.protocol === 'mailto:') return url.href;
      } catch {
        // Not a URL: rendered as text.
      }
      return null;
    }

    function link(href, children) {
      const safe = safeHref(href);
      if (safe === null) {
        const span = el('span');
        children.forEach((child) => span.append(child));
        return span;
      }
      const a = el('a', { attrs: { href: safe, rel: 'noopener noreferrer nofollow', target: '_blank' } });
      children.forEach((child) => a.append(child));
      return a;
    }

    /** Text with bare http(s) URLs as links (GFM's autolink extension). */
    function textWithUrls(text, parent) {
      let last = 0;
      for (const m of text.matchAll(BARE_URL)) {
        const start = m.index;
        if (start > 0 && /[\w/]/.test(text[start - 1])) continue;
        let url = m[0].replace(/[.,:;!?'"*_~]+$/, '');
        // A closing parenthesis ends the URL unless it closes one inside it.
        while (url.endsWith(')') && (url.match(/\(/g) || []).length < (url.match(/\)/g) || []).length) {
          url = url.slice(0, -1);
        }
        if (start > last) parent.append(document.createTextNode(text.slice(last, start)));
        parent.append(link(url, [document.createTextNode(url)]));
        last = start + url.length;
      }
      if (last < text.length) parent.append(document.createTextNode(text.slice(last)));
    }

    function renderInline(nodes, parent, inLink = false) {
      for (const n of nodes) {
        switch (n.t) {
          case 'text':
            if (inLink) parent.append(document.createTextNode(n.v));
            else textWithUrls(n.v, parent);
            break;
          case 'code':
            parent.append(el('code', { text: n.v }));
            break;
          case 'br':
            parent.append(el('br'));
            break;
          case 'em':
          case 'strong': {
            const node = el(n.t);
            renderInline(n.children, node, inLink);
            parent.append(node);
            break;
          }
          case 'link': {
            const holder = document.createDocumentFragment();
            renderInline(n.children, holder, true);
            parent.append(link(n.url, Array.from(holder.childNodes)));
            break;
          }
          default:
            break;
        }
      }
    }

    function inlineInto(parent, text) {
      renderInline(inline(text), parent);
      return parent;
    }

    function renderBlock(block, shift, tight) {
      switch (block.type) {
        case 'heading':
          return inlineInto(el(`h${Math.min(6, block.level + shift)}`), block.text);
        case 'paragraph':
          return tight ? inlineInto(document.createDocumentFragment(), block.text) : inlineInto(el('p'), block.text);
        case 'code':
          return el('pre', {}, el('code', { text: block.text, attrs: { 'data-lang': block.lang || null } }));
        case 'rule':
          return el('hr');
        case 'quote':
          return el('blockquote', {}, render(block.children, shift));
        case 'list': {
          const list = el(block.ordered ? 'ol' : 'ul', { attrs: { start: block.ordered && block.start !== 1 ? block.start : null } });
          for (const item of block.items) {
            const li = el('li');
            item.forEach((child, index) => {
              // A tight item's first paragraph is inline in the <li>.
              li.append(renderBlock(child, shift, !block.loose && index === 0 && child.type === 'paragraph'));
            });
            list.append(li);
          }
          return list;
        }
        case 'table': {
          const alignClass = (k) => (block.align[k] ? `align-${block.align[k]}` : null);
          const headRow = el('tr');
          block.head.forEach((cell, k) => headRow.append(inlineInto(el('th', { className: alignClass(k), attrs: { scope: 'col' } }), cell)));
          const body = el('tbody');
          for (const row of block.rows) {
            const tr = el('tr');
            row.forEach((cell, k) => tr.append(inlineInto(el('td', { className: alignClass(k) }), cell)));
            body.append(tr);
          }
          // The reports' key/value tables have an empty header row: leave it out.
          const head = block.head.some((cell) => cell.trim() !== '') ? el('thead', {}, headRow) : null;
          return el('div', { className: 'table-wrap' }, el('table', {}, head, body));
        }
        default:
          return document.createDocumentFragment();
      }
    }

    /** Blocks as a DocumentFragment; headings shifted down `shift` levels. */
    function render(blocks, shift = 0) {
      const fragment = document.createDocumentFragment();
      for (const block of blocks) fragment.append(renderBlock(block, shift, false));
      return fragment;
    }

    return Object.freeze({ parse, render, section });
  })();

  // Read-only access for the browser test and for debugging in the console.
  Object.defineProperty(window, 'mreMarkdown', { value: Markdown, enumerable: false });

  // ---------------------------------------------------------- wiring ---

  async function signedIn() {
    show($('auth-error'), false);
    const state = $('token-state');
    state.textContent = 'A token is set for this tab.';
    show(state, true);
    setConnection('pending', 'Checking token…');
    if (await loadRuns()) loadQuality();
  }

  function init() {
    $('token-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const input = $('token-input');
      const token = input.value.trim();
      // The token never stays in the DOM once stored.
      input.value = '';
      if (!token) {
        askForToken('Enter the admin token (the value of MRE_ADMIN_API_TOKENS on the server).');
        return;
      }
      clearMessages();
      setToken(token);
      signedIn();
    });
    $('token-forget').addEventListener('click', () => {
      forgetToken();
      stopPolling();
      $('token-input').value = '';
      show($('token-state'), false);
      setConnection('signed-out', 'Not signed in');
      $('start-sync').disabled = false;
    });
    $('sync-form').addEventListener('submit', startSync);
    for (const box of document.querySelectorAll('#opt-drift input[name="accept-drift"]')) {
      box.addEventListener('change', updateDriftControl);
    }
    updateDriftControl();
    $('active-accept-drift').addEventListener('click', () => {
      if (follow_state.last) rerunAcceptingDrift(follow_state.last);
    });
    $('runs-refresh').addEventListener('click', () => {
      clearMessages();
      loadRuns();
      loadQuality();
    });
    $('active-cancel').addEventListener('click', () => {
      if (follow_state.last) cancelJob(follow_state.last.jobId);
    });
    $('active-resume').addEventListener('click', () => {
      if (follow_state.last) resumeJob(follow_state.last.jobId);
    });
    $('active-report').addEventListener('click', () => {
      if (follow_state.last) openReport(follow_state.last);
    });
    $('report-close').addEventListener('click', () => {
      show($('report-panel'), false);
      $('report-body').replaceChildren();
    });
    if (getToken()) signedIn();
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
