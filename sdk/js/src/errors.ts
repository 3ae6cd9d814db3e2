/**
 * Typed errors.  `code` is the server's `error` value when the server answered
 * (`insufficient_credits`, `spend_limit_reached`, `insufficient_scope`, `insufficient_user_authentication`, `login_required`,
 * `idempotency_key_reused`, `invalid_grant`, ...), or one of the SDK's own codes
 * (`popup_blocked`, `popup_closed`, `timeout`, `aborted`, `purchase_cancelled`,
 * `invalid_state`, `invalid_id_token`, `network_error`, `lock_timeout`, `not_in_browser`).
 */

/** The SDK's own codes; server codes are any other string. */
export type ClientErrorCode =
  | 'popup_blocked'
  | 'popup_closed'
  | 'timeout'
  | 'aborted'
  | 'purchase_cancelled'
  | 'invalid_state'
  | 'invalid_id_token'
  | 'invalid_response'
  | 'network_error'
  | 'lock_timeout'
  | 'not_in_browser'
  | 'login_required';

/** Codes the server documents (see the OpenAPI document); others may appear. */
export type ServerErrorCode =
  | 'invalid_request'
  | 'invalid_grant'
  | 'invalid_client'
  | 'invalid_scope'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'insufficient_user_authentication'
  | 'insufficient_credits'
  | 'spend_limit_reached'
  | 'idempotency_key_reused'
  | 'hold_not_active'
  | 'not_found'
  | 'payments_not_configured'
  | 'payment_provider_error'
  | 'rate_limited'
  | 'login_required'
  | 'consent_required'
  | 'access_denied'
  | 'server_error';

export type ErrorCode = ClientErrorCode | ServerErrorCode | (string & {});

export interface SDKErrorOptions {
  status?: number;
  description?: string;
  details?: Record<string, unknown>;
  cause?: unknown;
}

/** Every error the SDK rejects with. */
export class SDKError extends Error {
  override readonly name: string = 'SDKError';
  readonly code: ErrorCode;
  /** HTTP status when the server answered. */
  readonly status: number | undefined;
  readonly description: string | undefined;
  /** Other members of the server's error body (e.g. `balance`). */
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message?: string, options: SDKErrorOptions = {}) {
    super(message ?? options.description ?? code, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status;
    this.description = options.description;
    this.details = options.details ?? {};
  }
}

/** 402 from the credit API: not enough credits; carries the balance to offer a top-up. */
export class InsufficientCreditsError extends SDKError {
  override readonly name = 'InsufficientCreditsError';
  readonly balance: number | undefined;
  readonly available: number | undefined;

  constructor(message: string, options: SDKErrorOptions = {}) {
    super('insufficient_credits', message, options);
    const { balance, available } = this.details;
    this.balance = typeof balance === 'number' ? balance : undefined;
    this.available = typeof available === 'number' ? available : undefined;
  }
}

/**
 * 402 `spend_limit_reached`: the user capped what this app may spend per UTC day or month.
 * `remaining` may still be spent in the window; `resetsAt` is when it starts again.
 */
export class SpendLimitReachedError extends SDKError {
  override readonly name = 'SpendLimitReachedError';
  readonly limit: number | undefined;
  readonly period: 'day' | 'month' | undefined;
  readonly remaining: number | undefined;
  readonly resetsAt: Date | undefined;

  constructor(message: string, options: SDKErrorOptions = {}) {
    super('spend_limit_reached', message, options);
    const { limit, period, remaining, resets_at: resetsAt } = this.details;
    this.limit = typeof limit === 'number' ? limit : undefined;
    this.period = period === 'day' || period === 'month' ? period : undefined;
    this.remaining = typeof remaining === 'number' ? remaining : undefined;
    const when = typeof resetsAt === 'string' ? new Date(resetsAt) : undefined;
    this.resetsAt = when && !Number.isNaN(when.getTime()) ? when : undefined;
  }
}

/** 403 `insufficient_scope`: the token lacks `scope` (from the RFC 6750 challenge). */
export class InsufficientScopeError extends SDKError {
  override readonly name = 'InsufficientScopeError';
  readonly scope: string | undefined;

  constructor(message: string, scope: string | undefined, options: SDKErrorOptions = {}) {
    super('insufficient_scope', message, options);
    this.scope = scope;
  }
}

/**
 * 401 `insufficient_user_authentication` (RFC 9470): the token's sign-in is not strong
 * enough (`acrValues`: the levels that would do) or too old (`maxAge`: seconds).  Sign in
 * again with them: `auth.stepUp(error)` (from a click handler), then repeat the call.
 */
export class InsufficientUserAuthenticationError extends SDKError {
  override readonly name = 'InsufficientUserAuthenticationError';
  /** `acr_values` of the challenge, in order of preference (empty: any level, see `maxAge`). */
  readonly acrValues: string[];
  /** `max_age` of the challenge: the sign-in must be at most this many seconds old. */
  readonly maxAge: number | undefined;

  constructor(message: string, challenge: Record<string, string | undefined>, options: SDKErrorOptions = {}) {
    super('insufficient_user_authentication', message, options);
    this.acrValues = (challenge.acr_values ?? '').split(/\s+/).filter(Boolean);
    const maxAge = challenge.max_age === undefined ? NaN : Number(challenge.max_age);
    this.maxAge = Number.isInteger(maxAge) && maxAge >= 0 ? maxAge : undefined;
  }
}

/** True when `error` is an SDKError, optionally with the given code. */
export function isSDKError(error: unknown, code?: ErrorCode): error is SDKError {
  return error instanceof SDKError && (code === undefined || error.code === code);
}

/** The error the server's JSON body (and RFC 6750 challenge) describes. */
export function fromServer(
  status: number,
  body: unknown,
  challenge: string | null = null,
): SDKError {
  const fields = body && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  const bearer = parseChallenge(challenge);
  const code = stringOr(fields.error, bearer.error ?? (status >= 500 ? 'server_error' : 'invalid_request'));
  const description = stringOr(fields.error_description, bearer.error_description ?? `HTTP ${status}`);
  const details: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (key !== 'error' && key !== 'error_description') details[key] = value;
  }
  const options = { status, description, details };
  if (code === 'insufficient_credits') return new InsufficientCreditsError(description, options);
  if (code === 'spend_limit_reached') return new SpendLimitReachedError(description, options);
  if (code === 'insufficient_scope') return new InsufficientScopeError(description, bearer.scope, options);
  if (code === 'insufficient_user_authentication') {
    // RFC 9470 section 3: the parameters are in the challenge; a body may repeat them.
    const fromBody = { acr_values: stringOr(fields.acr_values, ''), max_age: fields.max_age === undefined ? undefined : String(fields.max_age) };
    const challenge = { ...fromBody, ...definedOnly(bearer) };
    return new InsufficientUserAuthenticationError(description, challenge, options);
  }
  return new SDKError(code, description, options);
}

function definedOnly(values: Record<string, string | undefined>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) if (value !== undefined) kept[key] = value;
  return kept;
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === 'string' && value ? value : fallback;
}

/**
 * `Bearer error="insufficient_scope", scope="credits:read"` → its parameters.  A value
 * is a quoted string or a token (RFC 9110 section 11.2: `max_age=300` as well as
 * `max_age="300"`).
 */
export function parseChallenge(header: string | null): Record<string, string | undefined> {
  const found: Record<string, string | undefined> = {};
  if (!header || !/^bearer\b/i.test(header)) return found;
  const pattern = /([a-zA-Z_]+)=(?:"((?:[^"\\]|\\.)*)"|([!#$%&'*+.^`|~0-9A-Za-z-]+))/g;
  for (let match = pattern.exec(header); match; match = pattern.exec(header)) {
    found[match[1]!] = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3]!;
  }
  return found;
}
