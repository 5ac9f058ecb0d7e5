// The admin page's script: token handling, starting and following sync jobs,
// the list of recent runs, their reports (drawn from the report's data, the
// route's JSON; the Markdown is only downloaded) and the quality panel.
//
// Security rules this file keeps (the page's CSP enforces the last one):
// - The admin token lives in sessionStorage only: never localStorage, never a
//   cookie, never a URL. It leaves the page only as an Authorization header
//   on same-origin API calls.
// - Every piece of data from the API (track names scraped from the web, error
//   messages, report values) reaches the page as a DOM text node
//   (textContent, createTextNode) or a checked http(s) href; nothing is ever
//   parsed, as HTML or as Markdown. `require-trusted-types-for 'script'`
//   makes the browser throw on any HTML sink assignment, so a mistake fails
//   loudly instead of opening a hole.
'use strict';

(() => {
  const TOKEN_KEY = 'mre.admin.token';
  const API = '/api/v1/tracks';
  const POLL_MS = 1000;
  // The runs fetched at once (the API's maximum), shown a page at a time.
  const RUNS_LIMIT = 200;
  const RUNS_PAGE = 20;
  // ingest_core::MAX_CONCURRENCY (a test in ingest-http keeps them equal).
  const MAX_CONCURRENCY = 32;
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
      // The report route negotiates: its data as JSON, or its Markdown.
      Accept: text ? 'text/markdown' : 'application/json',
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
    foldTokenPanel(false);
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
      // Said once, and Start stays off: every press would be refused alike.
      showError('The kill switch is on (MRE_SCRAPE_ENABLED=false on the server): no sync can start. '
        + 'Switch it back on and reload this page.');
      const start = $('start-sync');
      start.disabled = true;
      start.title = 'The kill switch is on';
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
      // "Sync started", "cancellation requested": about a run that is over
      // now; its outcome is on the card. Errors stay until dismissed.
      showNotice('');
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
      if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY) {
        showError(`Concurrency must be a whole number between 1 and ${MAX_CONCURRENCY}.`);
        $('opt-concurrency').focus();
        return;
      }
      body.concurrency = concurrency;
    }
    if ($('opt-force').checked) body.force = true;
    if ($('opt-dry-run').checked) body.dryRun = true;
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
      showNotice(job.status === 'cancelled' ? `Job ${jobId} cancelled.` : `Cancellation of job ${jobId} requested; it stops within about a second, keeping the pages already fetched.`);
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

  const runs_state = { jobs: new Map(), items: [], page: 0, filter: 'all', quality: null };

  /** Whether a run belongs under the outcome filter `filter`. */
  function matchesFilter(job, filter) {
    const shown = outcomeOf(job);
    switch (filter) {
      case 'active': return isActive(job);
      case 'succeeded': return shown === 'succeeded';
      case 'cancelled': return shown === 'cancelled';
      case 'problems': return !isActive(job) && !['succeeded', 'cancelled'].includes(shown);
      default: return true;
    }
  }

  /** The current page of the filtered runs, and the pager under it. */
  function renderRuns() {
    const body = $('runs-body');
    body.replaceChildren();
    const shown = runs_state.items.filter((job) => matchesFilter(job, runs_state.filter));
    const pages = Math.max(1, Math.ceil(shown.length / RUNS_PAGE));
    runs_state.page = Math.min(runs_state.page, pages - 1);
    const first = runs_state.page * RUNS_PAGE;
    const page = shown.slice(first, first + RUNS_PAGE);
    for (const job of page) body.append(...runRows(job));
    const empty = $('runs-empty');
    empty.textContent = runs_state.items.length === 0 ? 'No runs yet.' : 'No run has this outcome.';
    show(empty, page.length === 0);
    $('runs-page').textContent = shown.length === 0
      ? ''
      : `${formatCount(first + 1)}–${formatCount(first + page.length)} of ${formatCount(shown.length)}`;
    $('runs-prev').disabled = runs_state.page === 0;
    $('runs-next').disabled = runs_state.page >= pages - 1;
    body.dataset.loaded = String(Date.now());
  }

  async function loadRuns() {
    let list;
    try {
      list = await api(`${API}/sync?limit=${RUNS_LIMIT}`);
    } catch (err) {
      handleError(err, 'Loading the runs');
      return false;
    }
    setConnection('connected', 'Connected');
    foldTokenPanel(true);
    runs_state.jobs.clear();
    runs_state.items = list.items;
    for (const job of list.items) runs_state.jobs.set(job.jobId, job);
    renderRuns();
    drawTrends();
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
    } else if (job.runStatus && job.runStatus !== job.status && !isActive(job)) {
      // While a job runs again, its runStatus is the previous attempt's
      // ("cancelled" under "running" would read as a contradiction).
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
    if (job.attempts > 1) {
      const text = isActive(job) ? `attempt ${job.attempts}, resumed from its checkpoint` : `${job.attempts} attempts`;
      outcome.append(el('span', { className: 'sub', text, attrs: { 'data-testid': 'run-attempts' } }));
    }

    const actions = el('td', { className: 'actions-cell' });
    if (!isActive(job) && (job.reportUrl || job.runStatus !== null)) {
      // A permalink: the address of the run's view, which the page opens
      // on load and on every change of the fragment.
      const link = el('a', {
        className: 'link-button small',
        text: 'Report',
        attrs: {
          href: runLink(job.jobId),
          'data-testid': 'run-report',
          title: `Show the report of the run created ${formatTime(job.createdAt)} (a link to keep)`,
        },
      });
      actions.append(link);
    }
    if (job.status === 'failed' || job.status === 'cancelled') {
      actions.append(button('Resume', 'run-resume', () => resumeJob(job.jobId)));
    }
    if (isActive(job) && !job.cancelRequested) {
      const key = `cancel-${job.jobId}`;
      const labels = ['Cancel', 'Confirm cancel'];
      const cancel = button(armedLabel(key, ...labels), 'run-cancel', () => confirmClick(cancel, key, labels, () => cancelJob(job.jobId)), null, 'danger');
      cancel.dataset.confirmKey = key;
      cancel.title = 'Stops within about 2 s, storing the pages already fetched; Resume continues from there';
      actions.append(cancel);
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
      el('td', { text: job.request && job.request.dryRun ? `${job.trigger} (dry run)` : job.trigger }),
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

  /** How long a "Confirm cancel" stays armed before it reads "Cancel" again. */
  const CONFIRM_MS = 5000;

  /** Armed confirmations: key → time (ms) they disarm. Kept outside the
   *  buttons, which the run table re-creates on every poll. */
  const armed = new Map();

  const isArmed = (key) => (armed.get(key) || 0) > Date.now();

  /** A button's label: its confirmation label while armed. */
  const armedLabel = (key, label, confirmLabel) => (isArmed(key) ? confirmLabel : label);

  /**
   * A destructive click asked twice: the first click arms the button
   * ("Confirm cancel"), a second within CONFIRM_MS acts; otherwise it
   * disarms itself. No modal dialog: the page keeps updating meanwhile.
   */
  function confirmClick(node, key, labels, action) {
    const [label, confirmLabel] = labels;
    if (isArmed(key)) {
      armed.delete(key);
      node.textContent = label;
      action();
      return;
    }
    armed.set(key, Date.now() + CONFIRM_MS);
    node.textContent = confirmLabel;
    setTimeout(() => {
      if (isArmed(key)) return;
      armed.delete(key);
      // The node may have been replaced meanwhile; find today's.
      for (const n of document.querySelectorAll(`[data-confirm-key="${key}"]`)) n.textContent = label;
    }, CONFIRM_MS + 50);
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
      const details = el('div', { className: 'report', attrs: { 'data-testid': 'run-metadata-errors-body' } });
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
          const report = await api(reportUrl(job));
          details.replaceChildren(Report.section(report, 'metadata-errors'));
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

  // ---------------------------------------------------------- charts ---

  const SVG_NS = 'http://www.w3.org/2000/svg';

  function svg(tag, attrs = {}, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
    for (const child of children) node.append(child);
    return node;
  }

  /**
   * A small line chart of `points` ({ label, value, title }), drawn as SVG
   * nodes in `figure` with its caption: one dot a run (its title the run's
   * figure), the highest and lowest values on the axis, the newest value
   * in the caption.
   */
  function lineChart(figure, caption, points, format) {
    figure.replaceChildren();
    const [width, height, pad] = [320, 120, 24];
    const values = points.map((p) => p.value);
    const newest = points.length ? format(values[values.length - 1]) : '—';
    figure.append(el('figcaption', { text: `${caption}: ${newest}` }));
    if (points.length === 0) {
      figure.append(el('p', { className: 'hint', text: 'No finished run yet.' }));
      return;
    }
    const [lo, hi] = [Math.min(...values), Math.max(...values)];
    const span = hi - lo || 1;
    const x = (i) => pad + (points.length === 1 ? (width - 2 * pad) / 2 : (i * (width - 2 * pad)) / (points.length - 1));
    const y = (v) => height - pad - ((v - lo) / span) * (height - 2 * pad);
    const chart = svg('svg', {
      viewBox: `0 0 ${width} ${height}`,
      role: 'img',
      'aria-label': `${caption}, ${points.length} runs, from ${format(lo)} to ${format(hi)}`,
    });
    chart.append(
      svg('line', { x1: pad, y1: height - pad, x2: width - pad, y2: height - pad, class: 'axis' }),
      svg('text', { x: 2, y: pad - 8, class: 'tick' }, document.createTextNode(format(hi))),
      svg('text', { x: 2, y: height - 6, class: 'tick' }, document.createTextNode(format(lo))),
      svg('polyline', { points: points.map((p, i) => `${x(i)},${y(p.value)}`).join(' '), class: 'line' }),
    );
    points.forEach((p, i) => {
      chart.append(svg('circle', { cx: x(i), cy: y(p.value), r: 3, class: 'dot', 'data-testid': 'chart-point' },
        svg('title', {}, document.createTextNode(`${p.label}: ${format(p.value)}`))));
    });
    figure.append(chart);
  }

  /**
   * Where a run's time went: a bar a stage, each as long as the stage's
   * share of the whole run (its title the stage's time). Stages overlap
   * (batches are written while dashboards are still fetched), so the bars
   * are not stacked: their shares may add up to more than the whole.
   */
  function stageBar(timings, total) {
    const [width, row, gap, label] = [320, 12, 4, 96];
    const whole = Number.isFinite(total) && total > 0
      ? total
      : timings.reduce((acc, t) => Math.max(acc, Number.isFinite(t.seconds) ? t.seconds : 0), 0);
    const height = timings.length * (row + gap);
    const figure = el('figure', { className: 'chart stage-bar', attrs: { 'data-testid': 'stage-bar' } });
    const chart = svg('svg', {
      viewBox: `0 0 ${width} ${height}`,
      role: 'img',
      'aria-label': `Stage timings: ${timings.map((t) => `${t.stage} ${formatDuration(t.seconds)}`).join(', ')}`,
    });
    const span = width - label;
    timings.forEach((t, i) => {
      const y = i * (row + gap);
      const w = whole > 0 && Number.isFinite(t.seconds) ? (Math.max(0, t.seconds) / whole) * span : 0;
      chart.append(
        svg('text', { x: 0, y: y + row - 2, class: 'tick' }, document.createTextNode(t.stage)),
        svg('rect', { x: label, y, width: span, height: row, class: 'stage-rest' }),
        // Every stage stays visible: a sliver of at least one unit.
        svg('rect', {
          x: label, y, width: Math.min(span, Math.max(w, 1)), height: row, class: `stage-seg stage-${i % 6}`, 'data-testid': 'stage-segment',
        }, svg('title', {}, document.createTextNode(`${t.stage}: ${formatDuration(t.seconds)}`))),
      );
    });
    figure.append(chart);
    figure.append(el('figcaption', { className: 'legend', text: 'Each bar: the stage\'s share of the whole run. Stages overlap (batches are written while dashboards are fetched).' }));
    return figure;
  }

  /** Duration and pages per second from the runs, completeness from the quality history. */
  function drawTrends() {
    const quality = runs_state.quality;
    const finished = runs_state.items
      .filter((job) => !isActive(job) && job.runStatus && job.durationSeconds > 0)
      .slice(0, 30)
      .reverse();
    const label = (job) => formatTime(job.completedAt || job.createdAt);
    lineChart($('chart-duration'), 'Run duration', finished.map((job) => ({ label: label(job), value: job.durationSeconds })), formatDuration);
    lineChart($('chart-rate'), 'Pages per second', finished.map((job) => ({
      label: label(job), value: (job.dashboardsFetched || 0) / job.durationSeconds,
    })), (v) => `${v.toFixed(1)}/s`);
    if (quality) {
      const runs = quality.runs.slice().reverse();
      lineChart($('chart-completeness'), 'Completeness (mean of the fields)', runs.map((run) => ({
        label: formatTime(run.finishedAt),
        value: QUALITY_FIELDS.reduce((sum, f) => sum + run.completeness[f], 0) / QUALITY_FIELDS.length,
      })), (v) => `${v.toFixed(1)}%`);
    }
  }

  // ---------------------------------------------------------- tracks ---

  async function searchTracks(event) {
    event.preventDefault();
    clearMessages();
    const text = $('track-search').value.trim();
    if (!text) {
      $('track-search').focus();
      return;
    }
    let page;
    try {
      page = await api(`${API}?q=${encodeURIComponent(text)}&limit=100`);
    } catch (err) {
      handleError(err, 'Searching the tracks');
      return;
    }
    const body = $('tracks-body');
    body.replaceChildren();
    show($('track-history'), false);
    for (const track of page.items) {
      body.append(el('tr', { attrs: { 'data-testid': 'track-row', 'data-slug': track.slug } },
        el('td', { text: track.name }),
        el('td', {}, el('code', { text: track.slug })),
        el('td', { text: track.city || '—' }),
        el('td', { text: track.state || '—' }),
        el('td', { text: track.countryCode || track.country || '—' }),
        el('td', { text: track.isActive ? 'yes' : 'no' }),
        el('td', { className: 'actions-cell' },
          button('History', 'track-history-open', () => showHistory(track), `Changes of ${track.name}`))));
    }
    show($('tracks-table'), page.items.length > 0);
    show($('tracks-empty'), page.items.length === 0);
  }

  async function showHistory(track) {
    let history;
    try {
      history = await api(`${API}/${encodeURIComponent(track.slug)}/history`);
    } catch (err) {
      handleError(err, 'Loading the track history');
      return;
    }
    const n = history.items.length;
    $('track-history-title').textContent = `${track.name}: ${n === 0 ? 'no recorded change' : `${formatCount(n)} change${n === 1 ? '' : 's'}, newest first`}`;
    const list = $('track-history-list');
    list.replaceChildren();
    for (const change of history.items) {
      list.append(el('li', { attrs: { 'data-testid': 'track-change', 'data-field': change.field } },
        el('span', { className: 'when', text: formatTime(change.changedAt) }), ' ',
        el('strong', { text: change.field }), ': ',
        el('span', { className: 'old', text: change.oldValue ?? '(none)' }), ' → ',
        el('span', { className: 'new', text: change.newValue ?? '(none)' }), ' ',
        el('a', { className: 'run-link', text: 'run', attrs: { href: runLink(change.runId), title: 'The run that made the change' } })));
    }
    show($('track-history'), true);
  }

  // ------------------------------------------------------ permalinks ---

  /** The page's address of a run's view: `/admin#/runs/{jobId}`. */
  const runLink = (jobId) => `#/runs/${encodeURIComponent(jobId)}`;
  const RUN_LINK = /^#\/runs\/([0-9a-fA-F-]{36})$/;

  /** Open the run the address names, if it names one. */
  async function openLinkedRun() {
    const match = RUN_LINK.exec(window.location.hash);
    if (!match || !getToken()) return;
    const jobId = match[1].toLowerCase();
    let job = runs_state.jobs.get(jobId);
    if (!job) {
      try {
        job = await api(jobUrl(jobId));
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) {
          showError(`There is no run ${jobId} (it may have been pruned).`);
          return;
        }
        handleError(err, 'Loading the run');
        return;
      }
    }
    await openReport(job);
    $('report-panel').scrollIntoView({ block: 'start' });
  }

  // --------------------------------------------------------- report ---

  const report_state = { job: null, fileName: null };

  /** Show a run's report, drawn from its data. */
  async function openReport(job) {
    clearMessages();
    const panel = $('report-panel');
    const body = $('report-body');
    let report = null;
    try {
      report = await api(reportUrl(job));
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        showError(`No report is archived for job ${job.jobId} yet.`);
        return;
      }
      // The data is not readable, the Markdown still is: say so (below)
      // and offer it.
      if (!(err instanceof ApiError && err.code === 'report_data_unreadable')) {
        handleError(err, 'Loading the report');
        return;
      }
    }
    report_state.job = job;
    report_state.fileName = report && typeof report.fileName === 'string' ? report.fileName : null;
    $('report-meta').textContent = `Job ${job.jobId} · ${OUTCOME_LABEL[outcomeOf(job)] || outcomeOf(job)}${job.completedAt ? ` · finished ${formatTime(job.completedAt)}` : ''}`;
    body.replaceChildren(report
      ? Report.draw(report)
      : el('p', {
        className: 'alert error',
        text: 'The data of this report cannot be read by this version of the service (it was archived by an older or newer one, '
          + 'or it is damaged), so it cannot be drawn here. The Markdown report can still be downloaded.',
        attrs: { 'data-testid': 'report-unreadable' },
      }));
    body.dataset.jobId = job.jobId;
    show(panel, true);
    panel.scrollIntoView({ behavior: 'smooth', block: 'start' });
    $('report-close').focus({ preventScroll: true });
  }

  /** Save the shown run's Markdown report (as files and the CLI have it). */
  async function downloadMarkdown() {
    const job = report_state.job;
    if (!job) return;
    let markdown;
    try {
      markdown = await api(reportUrl(job), { text: true });
    } catch (err) {
      handleError(err, 'Downloading the Markdown report');
      return;
    }
    const url = URL.createObjectURL(new Blob([markdown], { type: 'text/markdown;charset=utf-8' }));
    const name = report_state.fileName || `track-sync-${job.jobId}.md`;
    const link = el('a', { attrs: { href: url, download: name, hidden: true } });
    document.body.append(link);
    link.click();
    link.remove();
    // Give the download time to start before the URL goes.
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }

  // The report, drawn from its data (`GET …/report`, `Accept:
  // application/json`): the sections of the Markdown report in its order,
  // each a <section data-section="…"> under an h3. Every string of the report
  // is set as text (el's `text`, text nodes); the only link is a new track's
  // page, and only when it is an http(s) URL.

  const Report = (() => {
    /** Entries listed per section, as in the Markdown report. */
    const MAX_LISTED = 1000;
    /** Longest value and message shown in full (the full one in the tooltip). */
    const MAX_VALUE_CHARS = 200;
    const MAX_MESSAGE_CHARS = 300;

    const count = formatCount;
    const code = (text) => el('code', { text });
    const strong = (text) => el('strong', { text });
    const text = (value) => document.createTextNode(String(value));
    const para = (...children) => el('p', {}, ...children);

    /** `s` cut to `max` characters, saying how long it was; the whole in a tooltip. */
    function cut(tag, s, max) {
      const chars = Array.from(String(s));
      if (chars.length <= max) return el(tag, { text: s });
      return el(tag, { text: `${chars.slice(0, max).join('')}… (${count(chars.length)} characters)`, attrs: { title: s } });
    }

    /** A value, or a dash for none. */
    const value = (v) => (v === null || v === undefined ? text('—') : cut('code', v, MAX_VALUE_CHARS));

    const utc = (iso) => {
      const date = new Date(iso);
      if (Number.isNaN(date.getTime())) return String(iso);
      return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
    };
    const day = (iso) => {
      const date = new Date(iso);
      return Number.isNaN(date.getTime()) ? String(iso) : date.toISOString().slice(0, 10);
    };
    const time = (iso, format) => el('time', { text: format(iso), attrs: { datetime: iso, title: formatTime(iso) } });

    /** Seconds as people write them: 38 ms, 2.1 s, 4 m 05 s, 1 h 02 m 03 s. */
    function seconds(secs) {
      const s = Number.isFinite(secs) && secs > 0 ? secs : 0;
      if (s === 0) return '0 s';
      if (s < 1) {
        const ms = Math.round(s * 1000);
        return ms >= 1000 ? '1.0 s' : `${ms} ms`;
      }
      if (s < 10) {
        const tenths = Math.round(s * 10) / 10;
        if (tenths < 10) return `${tenths.toFixed(1)} s`;
      }
      const whole = Math.round(s);
      const [h, m, r] = [Math.floor(whole / 3600), Math.floor((whole % 3600) / 60), whole % 60];
      const pad = (n) => String(n).padStart(2, '0');
      if (h > 0) return `${h} h ${pad(m)} m ${pad(r)} s`;
      if (m > 0) return `${m} m ${pad(r)} s`;
      return `${r} s`;
    }

    const percent = (value) => `${(Number.isFinite(value) ? value : 0).toFixed(1).replace(/^-(0\.0)$/, '$1')}%`;
    const percentOf = (fraction) => percent(fraction * 100);
    /** A configured limit: 10%, 12.5%. */
    const limit = (fraction) => `${Math.round((Number.isFinite(fraction) ? fraction : 0) * 1000) / 10}%`;
    const share = (n, of) => (of > 0 ? (n * 100) / of : 0);
    const plural = (n, one, many) => (n === 1 ? one : many);

    /** A section of the report: its element and heading. */
    function section(key, title, className) {
      return el('section', { className: 'report-section', attrs: { 'data-section': key } },
        el('h3', { text: title, className }));
    }

    /** Append the children that are there (a missing note is null). */
    function put(parent, ...children) {
      for (const child of children) {
        if (child !== null && child !== undefined) parent.append(child);
      }
      return parent;
    }

    function table(head, rows, { numeric = [], headless = false, className = null } = {}) {
      const cellOf = (content, k, tag) => {
        const cell = el(tag, { className: numeric.includes(k) ? 'num' : null, attrs: tag === 'th' ? { scope: 'col' } : {} });
        cell.append(content instanceof Node ? content : text(content));
        return cell;
      };
      const body = el('tbody');
      for (const row of rows) body.append(el('tr', {}, ...row.map((c, k) => cellOf(c, k, 'td'))));
      const thead = headless ? null : el('thead', {}, el('tr', {}, ...head.map((c, k) => cellOf(c, k, 'th'))));
      return el('div', { className: 'table-wrap' }, el('table', { className }, thead, body));
    }

    /** Nodes joined into one fragment. */
    function join(parts, separator) {
      const fragment = document.createDocumentFragment();
      parts.forEach((part, i) => {
        if (i > 0) fragment.append(text(separator));
        fragment.append(part instanceof Node ? part : text(part));
      });
      return fragment;
    }

    /** "name (slug)": the name strong, the slug as code. */
    const named = (t) => join([strong(t.name), join([text('('), code(t.slug), text(')')], '')], ' ');

    /** The entries shown and the line for those left out (from the exact count). */
    function listed(items, total) {
      const shown = items.slice(0, MAX_LISTED);
      const all = Math.max(Number.isFinite(total) ? total : 0, items.length);
      const more = all - shown.length;
      const note = more > 0
        ? para(text(`… and ${count(more)} more, not listed (`), code('ingest-cli tracks list'), text(' shows every stored track).'))
        : null;
      return [shown, note];
    }

    /** A section with a numbered list, or "None.". */
    function listSection(key, title, items, total, item, intro = null) {
      const node = section(key, title);
      if (items.length === 0) {
        node.append(para('None.'));
        return node;
      }
      const [shown, more] = listed(items, total);
      return put(node, intro, el('ol', {}, ...shown.map((entry) => el('li', {}, ...item(entry)))), more);
    }

    /** A section with a table, or "None.". */
    function tableSection(key, title, items, total, head, row, numeric, after = null) {
      const node = section(key, title);
      if (items.length === 0) {
        node.append(para('None.'));
        return node;
      }
      const [shown, more] = listed(items, total);
      return put(node, table(head, shown.map(row), { numeric }), after, more);
    }

    // ---- the sections, in the Markdown report's order

    function header(r) {
      const short = String(r.runId).replace(/-/g, '').slice(0, 8);
      const o = r.options;
      const runs = o.deactivateAfterMissingRuns;
      const options = join([
        join(['metadata ', code(o.metadata)], ''),
        `concurrency ${o.concurrency}`,
        `batch ${o.batchSize}`,
        `guard ${limit(o.guardMaxDeactivateShare)}`,
        `force ${o.force ? 'on' : 'off'}`,
        `deactivate after ${runs} missing ${plural(runs, 'run', 'runs')}`,
        `drift limit ${limit(o.driftMaxLossShare)} of at least ${o.driftMinTracks} ${plural(o.driftMinTracks, 'track', 'tracks')}`,
        ...(o.acceptDrift.length > 0 ? [`accepting drift of ${o.acceptDrift.join(', ')}`] : []),
      ], ', ');
      const bound = r.politenessBoundSeconds;
      const duration = bound === null || bound === undefined
        ? seconds(r.durationSeconds)
        : `${seconds(r.durationSeconds)} (bound at this politeness: ${seconds(bound)})`;
      const fragment = document.createDocumentFragment();
      fragment.append(el('h2', { text: `Track sync report — run ${short}` }));
      if (r.options && r.options.dryRun) {
        fragment.append(el('p', {
          className: 'notice',
          text: 'Dry run: nothing was stored. This is what the run would have written.',
        }));
      }
      fragment.append(
        table([], [
          ['Run', code(r.runId)],
          ['Source', r.source],
          ['Trigger', `${r.trigger}, attempt ${r.attempt}`],
          ['Started', time(r.startedAt, utc)],
          ['Finished', time(r.finishedAt, utc)],
          ['Duration', duration],
          ['Options', options],
        ], { headless: true, className: 'key-values' }),
      );
      return fragment;
    }

    const isNotable = (f) => f.decision !== 'applied' || f.massChange;

    function drift(r) {
      const d = r.drift;
      if (!d || !d.fields.some(isNotable)) return null;
      const held = d.fields.filter((f) => f.decision === 'held').length;
      let node;
      if (held > 0) {
        const one = held === 1;
        node = section('drift', 'Markup drift suspected: fields held', 'held-heading');
        node.append(para(
          text(`${one ? 'This field' : 'These fields'} vanished from more than ${limit(d.maxLossShare)} of the fetched tracks that had ${one ? 'it' : 'them'} `
            + `(and from at least ${count(d.minTracks)} of them): the dashboard's markup probably changed. Every track keeps its stored value, `
            + `and nothing of ${one ? 'it' : 'them'} was written to the history. If the change is real, run the sync again accepting it: `),
          code('--accept-drift FIELD'), text(' (or '), code('all'), text('), '), code('acceptDrift'), text(' in the API, or the re-run button of the run.'),
        ));
      } else {
        node = section('drift', 'Markup drift');
        node.append(para('Fields that vanished or changed on a large share of the tracks that had them: applied (accepted by the operator, or changed values rather than lost ones).'));
      }
      const decision = (f) => {
        if (f.decision === 'held') return strong('held');
        if (f.decision === 'accepted') return 'accepted, applied';
        return f.massChange ? 'mass change, applied' : 'applied';
      };
      const notable = d.fields.filter(isNotable);
      node.append(table(['field', 'decision', 'vanished', 'changed', 'tracks that had it'], notable.map((f) => [
        code(f.field),
        decision(f),
        `${count(f.lost)} (${percent(share(f.lost, f.had))})`,
        `${count(f.changed)} (${percent(share(f.changed, f.had))})`,
        count(f.had),
      ]), { numeric: [2, 3, 4] }));
      const samples = notable.flatMap((f) => f.samples.map((s) => [f, s]));
      if (samples.length > 0) {
        node.append(
          para('Sample tracks (stored value → what the page now says):'),
          table(['field', 'track', 'stored', 'on the page'], samples.map(([f, s]) => [
            code(f.field), join([text(s.name), join([text('('), code(s.slug), text(')')], '')], ' '), value(s.storedValue), value(s.pageValue),
          ])),
        );
      }
      return node;
    }

    function guardRefusal(g, error) {
      if (!g) {
        return error
          ? para(strong('Guard refused the deactivation:'), text(` ${String(error).trim()}; nothing deactivated.`))
          : para(strong('Guard refused the deactivation:'), text(' nothing deactivated.'));
      }
      const numbers = `would deactivate ${count(g.missing)} of ${count(g.activeBefore)} active tracks (${percentOf(g.share)})`;
      if (g.share > g.maxShare) {
        return para(strong('Guard refused:'), text(` ${numbers}, above the ${limit(g.maxShare)} limit: nothing deactivated; run again with `),
          code('--force'), text(' (or "Force deactivation") if the catalogue really shrank.'));
      }
      const why = (g.reason || error || 'the deactivation was not allowed').trim();
      return para(strong('Guard refused:'), text(` ${why}; ${numbers}: nothing deactivated.`));
    }

    function guardNote(g) {
      const missing = `${count(g.missing)} of ${count(g.activeBefore)} active tracks (${percentOf(g.share)})`;
      const max = limit(g.maxShare);
      if (g.allowed && g.forced && g.share > g.maxShare) {
        return para(`Deactivation forced: ${missing} were missing from the catalogue, above the ${max} limit.`);
      }
      if (g.allowed) return para(`Deactivation guard: ${missing} missing from the catalogue, within the ${max} limit.`);
      return para(`Deactivation guard: ${missing} missing from the catalogue; not deactivated${g.reason ? `: ${g.reason.trim()}` : ''}.`);
    }

    function failure(node, r, headline) {
      node.append(para(strong(headline[0]), text(headline[1] ? ` ${headline[1]}` : '')));
      const error = r.error ? r.error.trim() : '';
      node.append(error ? el('pre', {}, code(error)) : para('No error message was recorded.'));
      const c = r.counts;
      node.append(para(c.new + c.updated + c.deactivated + c.reactivated === 0
        ? 'No track was added, changed, deactivated or reactivated.'
        : 'The counts below show what the run did before it stopped.'));
    }

    function status(r) {
      const node = section('status', 'Status');
      const g = r.guard;
      switch (r.status) {
        case 'succeeded': {
          const failed = Math.max(r.counts.dashboardsFailed, r.metadataErrors.length);
          node.append(failed === 0
            ? para(strong('Succeeded.'))
            : para(strong('Succeeded.'), text(` ${failed === 1 ? '1 track whose dashboard failed' : `${count(failed)} tracks whose dashboards failed`} kept the fields stored from earlier runs (see Metadata errors).`)));
          break;
        }
        case 'drift_suspected': {
          const held = r.drift ? r.drift.fields.filter((f) => f.decision === 'held').map((f) => code(f.field)) : [];
          node.append(
            para(strong('Drift suspected.'), text(' '), held.length > 0 ? join(held, ', ') : text('Some fields'),
              text(' vanished from too many tracks at once: every track keeps its stored value (see Markup drift suspected above).')),
            para('The rest of the run completed: new tracks and every other field are stored.'),
          );
          if (g && !g.allowed) node.append(guardRefusal(g, null));
          break;
        }
        case 'guard_refused':
          node.append(guardRefusal(g, r.error), para('The rest of the run completed: new and updated tracks are stored.'));
          break;
        case 'format_error':
          failure(node, r, ['Format error.', 'The catalogue page could not be read: the site may have changed shape.']);
          break;
        case 'cancelled':
          failure(node, r, ['Cancelled.', 'The run was stopped on request; what it stored before stays.']);
          break;
        default:
          failure(node, r, ['Failed.', 'The run stopped before the end.']);
      }
      if (r.status !== 'guard_refused' && g && (r.status !== 'drift_suspected' || g.allowed)) node.append(guardNote(g));
      return node;
    }

    function summary(r) {
      const c = r.counts;
      const node = section('summary', 'Summary');
      node.append(
        table([], [
          ['In catalogue', count(c.catalogueRows)],
          ['Skipped catalogue rows', count(c.skippedRows)],
          ['New', count(c.new)],
          ['Updated (profile fields)', count(c.updated)],
          ['Unchanged', count(c.unchanged)],
          ['Churn only (activity, stats)', count(c.churnOnly)],
          ['Deactivated', count(c.deactivated)],
          ['Missing, pending deactivation', count(c.pendingDeactivation)],
          ['Reactivated', count(c.reactivated)],
          ['Dashboards fetched / not modified (304) / skipped / failed',
            `${count(c.dashboardsFetched)} / ${count(c.dashboardsNotModified)} / ${count(c.dashboardsSkipped)} / ${count(c.dashboardsFailed)}`],
          ['Retries / 429 answers / Retry-After wait', `${count(c.retries)} / ${count(c.responses429)} / ${seconds(c.retryAfterWaitSeconds)}`],
          ['Validation anomalies', count(c.validationAnomalies)],
          ['Geocoded / geocoding failed', `${count(c.geocoded)} / ${count(c.geocodeFailures)}`],
          ['Database batches / rows written', `${count(c.dbBatches)} / ${count(c.dbRowsWritten)}`],
        ], { numeric: [1], headless: true }),
        para(el('em', { text: 'Churn only' }), text(': tracks whose only differences are the catalogue\'s activity text, live flags, current event or lifetime stats. They are counted, not listed. '),
          el('em', { text: 'Rows written' }), text(': rows whose stored values changed in any way, the address a dashboard was read from and activity times included, so it can exceed new + updated + churn only.')),
      );
      return node;
    }

    function stageTimings(r) {
      const node = section('stage-timings', 'Stage timings');
      if (r.stageTimings.length === 0) {
        node.append(para('None.'));
        return node;
      }
      const total = r.durationSeconds;
      const stageShare = (part) => {
        if (!(Number.isFinite(total) && total > 0 && Number.isFinite(part))) return '—';
        const s = Math.max(0, (part / total) * 100);
        return Math.round(s) === 0 && s > 0 ? '<1%' : `${Math.round(s)}%`;
      };
      const rows = r.stageTimings.map((t) => [
        t.detail && t.detail.trim() ? `${t.stage} (${t.detail.trim()})` : t.stage,
        seconds(t.seconds),
        stageShare(t.seconds),
      ]);
      rows.push(['whole run', seconds(total), total > 0 ? '100%' : '—']);
      node.append(stageBar(r.stageTimings, total));
      node.append(table(['stage', 'time', 'share'], rows, { numeric: [1, 2] }));
      return node;
    }

    /** A track's page as a link when it is an http(s) URL; else text. */
    function trackLink(url) {
      try {
        const parsed = new URL(url);
        if (parsed.protocol === 'http:' || parsed.protocol === 'https:') {
          return el('a', { text: url, attrs: { href: parsed.href, rel: 'noopener noreferrer nofollow', target: '_blank' } });
        }
      } catch {
        // Not a URL: shown as text.
      }
      return text(url);
    }

    function newTracks(r) {
      return listSection('new-tracks', 'New tracks', r.newTracks, r.counts.new, (t) => {
        const parts = [strong(t.name), code(t.slug)];
        const place = [t.city, t.state, t.countryCode].map((p) => (p || '').trim()).filter((p) => p !== '');
        if (place.length > 0) parts.push(place.join(', '));
        if (t.trackUrl && t.trackUrl.trim()) parts.push(trackLink(t.trackUrl.trim()));
        return [join(parts, ' — ')];
      });
    }

    function updatedTracks(r) {
      return listSection('updated-tracks', 'Updated tracks', r.updatedTracks, r.counts.updated, (t) => [
        named(t),
        el('ul', {}, ...(t.changes.length === 0
          ? [el('li', { text: 'no changed field was recorded' })]
          : t.changes.map((c) => el('li', {}, text(`${c.field}: `), value(c.oldValue), text(' → '), value(c.newValue))))),
      ]);
    }

    function deactivatedTracks(r) {
      return listSection('deactivated-tracks', 'Deactivated tracks', r.deactivatedTracks, r.counts.deactivated, (t) => [
        named(t), text(' — last seen '), time(t.lastSeenAt, day), text(', in catalogue since '), time(t.firstSeenAt, day),
      ]);
    }

    function pendingDeactivation(r) {
      const of = r.options.deactivateAfterMissingRuns;
      const intro = para(`Active tracks missing from this catalogue: each is deactivated once it has been missing from ${of} consecutive complete catalogues, and its count starts again if it comes back.`);
      return listSection('pending-deactivation', 'Missing, pending deactivation', r.pendingDeactivation, r.counts.pendingDeactivation, (t) => [
        named(t), text(` — missing, pending deactivation (${t.missingRuns} of ${of}), last seen `), time(t.lastSeenAt, day),
      ], intro);
    }

    function reactivatedTracks(r) {
      return listSection('reactivated-tracks', 'Reactivated tracks', r.reactivatedTracks, r.counts.reactivated, (t) => [
        named(t),
        ...(t.inactiveSince ? [text(' — inactive since '), time(t.inactiveSince, day)] : [text(' — inactive since an unknown date')]),
      ]);
    }

    function metadataErrors(r) {
      const errors = r.metadataErrors;
      return tableSection('metadata-errors', 'Metadata errors', errors, r.counts.dashboardsFailed,
        ['track', 'error', 'attempts', 'message'],
        (e) => [code(e.slug), e.class, count(e.attempts), cut('span', e.message.trim(), MAX_MESSAGE_CHARS)],
        [2],
        para(plural(errors.length, 'This track keeps the fields stored from earlier runs.', 'These tracks keep the fields stored from earlier runs.')));
    }

    function anomalies(r) {
      return tableSection('validation-anomalies', 'Validation anomalies', r.validationAnomalies, r.counts.validationAnomalies,
        ['track', 'field', 'value', 'rule'],
        (a) => [code(a.slug), a.field, cut('code', a.value, MAX_VALUE_CHARS), a.rule],
        [],
        para('These values were not stored.'));
    }

    function skippedRows(r) {
      return tableSection('skipped-rows', 'Skipped catalogue rows', r.skippedRows, r.counts.skippedRows,
        ['row', 'reason', 'link'],
        (row) => [count(row.rowIndex), cut('span', row.reason.trim(), MAX_MESSAGE_CHARS), row.href ? cut('code', row.href, MAX_VALUE_CHARS) : '—'],
        [0]);
    }

    function completeness(r) {
      const node = section('completeness', 'Completeness of active tracks');
      const now = r.completeness;
      const finished = r.status === 'succeeded' || r.status === 'guard_refused';
      if (!finished && now.activeTracks === 0) {
        node.append(para('Not measured: the run stopped before the end.'));
        return node;
      }
      const previous = r.previousCompleteness && r.previousCompleteness.activeTracks > 0 ? r.previousCompleteness : null;
      const points = (delta) => {
        const d = Math.round(delta * 10) / 10;
        if (d > 0) return `+${d.toFixed(1)}`;
        if (d < 0) return `−${(-d).toFixed(1)}`;
        return '0.0';
      };
      const fields = [
        ['address', 'withAddress'], ['phone', 'withPhone'], ['e-mail', 'withEmail'],
        ['website', 'withWebsite'], ['coordinates', 'withCoordinates'],
      ];
      node.append(
        para(`Active tracks: ${count(now.activeTracks)}.`),
        table(['field', 'tracks', 'share', 'since last run'], fields.map(([name, key]) => {
          const pct = share(now[key], now.activeTracks);
          return [name, count(now[key]), percent(pct), previous ? points(pct - share(previous[key], previous.activeTracks)) : '—'];
        }), { numeric: [1, 2, 3] }),
      );
      if (!previous) node.append(para('No earlier finished run to compare with.'));
      return node;
    }

    const SECTIONS = {
      drift, status, summary, 'stage-timings': stageTimings, 'new-tracks': newTracks,
      'updated-tracks': updatedTracks, 'deactivated-tracks': deactivatedTracks,
      'pending-deactivation': pendingDeactivation, 'reactivated-tracks': reactivatedTracks,
      'metadata-errors': metadataErrors, 'validation-anomalies': anomalies,
      'skipped-rows': skippedRows, completeness,
    };

    /** The whole report as a DocumentFragment. */
    function draw(r) {
      const fragment = header(r);
      for (const make of Object.values(SECTIONS)) {
        const node = make(r);
        if (node) fragment.append(node);
      }
      return fragment;
    }

    /** One section of the report (`metadata-errors`, …). */
    function one(r, key) {
      return SECTIONS[key](r) || document.createDocumentFragment();
    }

    return Object.freeze({ draw, section: one });
  })();

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
    runs_state.quality = history;
    drawTrends();
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

  // ---------------------------------------------------------- wiring ---

  /** Once a token works, the panel folds to one line and a button. */
  function foldTokenPanel(folded) {
    show($('token-form'), !folded);
    show($('token-change'), folded);
    $('token-panel').classList.toggle('folded', folded);
  }

  async function signedIn() {
    show($('auth-error'), false);
    const state = $('token-state');
    state.textContent = 'A token is set for this tab.';
    show(state, true);
    setConnection('pending', 'Checking token…');
    if (await loadRuns()) {
      loadQuality();
      openLinkedRun();
    }
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
    $('track-search-form').addEventListener('submit', searchTracks);
    $('token-change').addEventListener('click', () => {
      foldTokenPanel(false);
      $('token-input').focus();
    });
    $('runs-filter').addEventListener('change', (event) => {
      runs_state.filter = event.target.value;
      runs_state.page = 0;
      renderRuns();
    });
    $('runs-prev').addEventListener('click', () => {
      runs_state.page = Math.max(0, runs_state.page - 1);
      renderRuns();
    });
    $('runs-next').addEventListener('click', () => {
      runs_state.page += 1;
      renderRuns();
    });
    window.addEventListener('hashchange', openLinkedRun);
    $('token-forget').addEventListener('click', () => {
      forgetToken();
      stopPolling();
      $('token-input').value = '';
      show($('token-state'), false);
      foldTokenPanel(false);
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
      const job = follow_state.last;
      if (job) confirmClick($('active-cancel'), 'active-cancel', ['Cancel run', 'Confirm cancel'], () => cancelJob(job.jobId));
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
      report_state.job = null;
      // The address no longer names a run.
      if (RUN_LINK.test(window.location.hash)) {
        history.replaceState(null, '', window.location.pathname + window.location.search);
      }
    });
    $('report-download').addEventListener('click', downloadMarkdown);
    if (getToken()) signedIn();
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
