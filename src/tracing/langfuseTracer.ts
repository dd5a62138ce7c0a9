import { randomUUID } from 'node:crypto';
import { getGlobalLogger, LANGFUSE_SDK_VERSION, LANGFUSE_TRACER_NAME, LogLevel } from '@langfuse/core';
import { LangfuseSpanProcessor } from '@langfuse/otel';
import { createObservationAttributes, createTraceAttributes, LangfuseOtelSpanAttributes } from '@langfuse/tracing';
import { ROOT_CONTEXT, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { AlwaysOnSampler, BasicTracerProvider, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Clock } from '../clock.js';
import { errorMessage, redactSecrets } from '../errors.js';
import type { Logger } from '../logger.js';
import type { GenerationInfo, SpawnEndInfo, SpawnInfo, SpawnTrace, SpawnTracer } from './types.js';

/** Longest prompt/output text kept in a span; the rest is cut with a marker. */
const MAX_TEXT_CHARS = 32_000;
const MAX_NAME_CHARS = 200;
const MAX_COMMENT_CHARS = 2_000;
const MAX_TAGS = 20;
/** Scores still in flight beyond this are dropped (endpoint hanging). */
const MAX_PENDING_SCORES = 200;

export interface LangfuseTracerOptions {
  langfuse: { publicKey: string; secretKey: string; baseUrl: string };
  secrets: readonly string[];
  logger: Logger;
  clock: Clock;
  exportTimeoutMs: number;
  shutdownTimeoutMs: number;
  flushIntervalMs: number;
}

/**
 * Spans go through a private BasicTracerProvider (never registered globally, so several tracers
 * can live in one process) -> LangfuseSpanProcessor (batching) -> OTLP/HTTP JSON exporter to
 * `<baseUrl>/api/public/otel/v1/traces`. Scores are not spans: they go to the public scores API
 * (`POST <baseUrl>/api/public/scores`), the same endpoint @langfuse/client's score manager uses.
 */
export function createLangfuseSpawnTracer(opts: LangfuseTracerOptions): SpawnTracer {
  const { logger, clock, secrets } = opts;
  quietLangfuseSdkLogger(logger);

  const baseUrl = opts.langfuse.baseUrl.replace(/\/+$/, '');
  const authHeader = `Basic ${Buffer.from(`${opts.langfuse.publicKey}:${opts.langfuse.secretKey}`).toString('base64')}`;
  const sdkHeaders = {
    'x-langfuse-sdk-name': 'javascript',
    'x-langfuse-sdk-version': LANGFUSE_SDK_VERSION,
    'x-langfuse-public-key': opts.langfuse.publicKey,
  };
  const clean = (text: string, max: number) => truncate(redactSecrets(text, secrets), max);

  const exporter = new LoggingExporter(
    new OTLPTraceExporter({
      url: `${baseUrl}/api/public/otel/v1/traces`,
      headers: { Authorization: authHeader, ...sdkHeaders },
      timeoutMillis: opts.exportTimeoutMs,
    }),
    logger,
    (text) => redactSecrets(text, secrets),
  );
  const processor = new LangfuseSpanProcessor({
    exporter,
    publicKey: opts.langfuse.publicKey,
    baseUrl,
    flushInterval: opts.flushIntervalMs / 1_000,
    mediaUploadEnabled: false,
    // Our provider only carries our spans: export them all, whatever the instrumentation scope.
    shouldExportSpan: () => true,
    // Second line of defence: every text we set is already redacted, but metadata of other shapes too.
    mask: ({ data }) => (typeof data === 'string' ? redactSecrets(data, secrets) : data),
  });
  const provider = new BasicTracerProvider({
    sampler: new AlwaysOnSampler(),
    spanProcessors: [processor],
    spanLimits: { attributeValueLengthLimit: MAX_TEXT_CHARS * 2 },
  });
  const tracer = provider.getTracer(LANGFUSE_TRACER_NAME, LANGFUSE_SDK_VERSION);

  const pendingScores = new Set<{ promise: Promise<void>; abort: AbortController }>();
  let shutdownPromise: Promise<void> | undefined;

  const guard = (what: string, fn: () => void) => {
    try {
      fn();
    } catch (err) {
      logger.debug(`Tracing ${what} failed; the call continues untraced`, { error: redactSecrets(errorMessage(err), secrets) });
    }
  };

  const sendScore = (body: Record<string, unknown>) => {
    if (pendingScores.size >= MAX_PENDING_SCORES) {
      logger.warn('Langfuse score dropped: too many score requests still in flight', { name: body.name });
      return;
    }
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), opts.exportTimeoutMs);
    timer.unref();
    const entry = {
      abort,
      promise: fetch(`${baseUrl}/api/public/scores`, {
        method: 'POST',
        headers: { Authorization: authHeader, 'Content-Type': 'application/json', ...sdkHeaders },
        body: JSON.stringify(body),
        signal: abort.signal,
      })
        .then(async (res) => {
          if (!res.ok) {
            const text = await res.text().catch(() => '');
            logger.warn('Langfuse rejected a score', {
              name: body.name,
              status: res.status,
              body: redactSecrets(text.slice(0, 300), secrets),
            });
          } else {
            await res.arrayBuffer().catch(() => undefined);
          }
        })
        .catch((err: unknown) => {
          logger.warn('Langfuse score not sent', {
            name: body.name,
            error: abort.signal.aborted ? `no answer within ${opts.exportTimeoutMs} ms` : redactSecrets(errorMessage(err), secrets),
          });
        })
        .finally(() => {
          clearTimeout(timer);
          pendingScores.delete(entry);
        }),
    };
    pendingScores.add(entry);
  };

  const startSpawn = (info: SpawnInfo): SpawnTrace => {
    if (shutdownPromise) return DEAD_TRACE;
    let root: Span;
    try {
      root = tracer.startSpan(clean(info.name, MAX_NAME_CHARS) || 'spawn', { startTime: new Date(clock.now()) }, ROOT_CONTEXT);
      const prompt = clean(info.prompt, MAX_TEXT_CHARS);
      const system = info.system === undefined ? undefined : clean(info.system, MAX_TEXT_CHARS);
      const input = system === undefined ? prompt : [{ role: 'system', content: system }, { role: 'user', content: prompt }];
      const meta = {
        trialId: info.trialId,
        taskId: info.taskId ?? undefined,
        parentRunId: info.parentRunId ?? undefined,
      };
      root.setAttributes({
        ...createObservationAttributes('agent', { input, metadata: meta }),
        ...createTraceAttributes({ input }),
        [LangfuseOtelSpanAttributes.TRACE_NAME]: clean(info.name, MAX_NAME_CHARS),
        [LangfuseOtelSpanAttributes.TRACE_TAGS]: info.tags.slice(0, MAX_TAGS).map((t) => clean(t, MAX_NAME_CHARS)),
        ...prefixed(`${LangfuseOtelSpanAttributes.TRACE_METADATA}.`, meta),
      });
    } catch (err) {
      logger.debug('Tracing could not start a spawn trace', { error: redactSecrets(errorMessage(err), secrets) });
      return DEAD_TRACE;
    }

    const traceId = root.spanContext().traceId;
    const rootContext = trace.setSpan(ROOT_CONTEXT, root);
    const scores: Record<string, number> = {};
    let ended = false;

    return {
      traceId,
      generation: (g: GenerationInfo) =>
        guard('generation', () => {
          const startedAt = g.startedAt;
          const endedAt = Math.max(g.endedAt, startedAt);
          const model = clean(g.model, MAX_NAME_CHARS);
          const span = tracer.startSpan(`${clean(g.provider, MAX_NAME_CHARS)}:${model}`, { startTime: new Date(startedAt) }, rootContext);
          const error = g.error ? clean(g.error, MAX_COMMENT_CHARS) : undefined;
          span.setAttributes(
            createObservationAttributes('generation', {
              model,
              input: clean(g.input, MAX_TEXT_CHARS),
              output: g.output == null ? undefined : clean(g.output, MAX_TEXT_CHARS),
              usageDetails: {
                input: nonNegative(g.inputTokens),
                output: nonNegative(g.outputTokens),
                total: nonNegative(g.inputTokens) + nonNegative(g.outputTokens),
              },
              costDetails: { total: nonNegative(g.costUsd) },
              level: error ? 'ERROR' : 'DEFAULT',
              statusMessage: error,
              metadata: {
                provider: g.provider,
                attempt: g.attempt,
                modelReason: g.modelReason === undefined ? undefined : clean(g.modelReason, MAX_COMMENT_CHARS),
              },
            }),
          );
          if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
          span.end(new Date(endedAt));
        }),

      score: (name: string, value: number, comment?: string) =>
        guard('score', () => {
          if (!Number.isFinite(value)) {
            logger.debug('Score not recorded: value is not a finite number', { name });
            return;
          }
          const scoreName = clean(name, MAX_NAME_CHARS);
          const scoreComment = comment === undefined ? undefined : clean(comment, MAX_COMMENT_CHARS);
          if (!ended) {
            // Also on the trace itself, so a score is visible even if the scores API call is lost.
            scores[scoreName] = value;
            root.setAttribute(`${LangfuseOtelSpanAttributes.TRACE_METADATA}.scores`, JSON.stringify(scores));
            root.addEvent('score', { 'score.name': scoreName, 'score.value': value, ...(scoreComment ? { 'score.comment': scoreComment } : {}) });
          }
          sendScore({
            id: randomUUID(),
            traceId,
            name: scoreName,
            value,
            dataType: 'NUMERIC',
            ...(scoreComment ? { comment: scoreComment } : {}),
            metadata: { trialId: info.trialId },
          });
        }),

      end: (e: SpawnEndInfo) =>
        guard('end', () => {
          if (ended) return;
          ended = true;
          const output = e.output == null ? undefined : clean(e.output, MAX_TEXT_CHARS);
          const errored = e.status === 'errored';
          root.setAttributes({
            ...createObservationAttributes('agent', {
              output,
              level: errored ? 'ERROR' : e.status === 'failed' ? 'WARNING' : 'DEFAULT',
              statusMessage: clean(e.status, MAX_NAME_CHARS),
              metadata: { status: e.status, costUsd: e.costUsd, latencyMs: e.latencyMs },
            }),
            ...createTraceAttributes({ output }),
            ...prefixed(`${LangfuseOtelSpanAttributes.TRACE_METADATA}.`, { status: e.status, costUsd: e.costUsd, latencyMs: e.latencyMs }),
          });
          if (errored) root.setStatus({ code: SpanStatusCode.ERROR, message: clean(e.status, MAX_NAME_CHARS) });
          root.end(new Date(clock.now()));
        }),
    };
  };

  const shutdown = (): Promise<void> => {
    shutdownPromise ??= (async () => {
      const work = Promise.allSettled([provider.shutdown(), ...[...pendingScores].map((s) => s.promise)]);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        work.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), opts.shutdownTimeoutMs);
          timer.unref();
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        for (const s of pendingScores) s.abort.abort();
        logger.warn(`Langfuse flush did not finish within ${opts.shutdownTimeoutMs} ms; unsent traces were dropped`);
      }
    })().catch((err: unknown) => {
      logger.warn('Langfuse shutdown failed', { error: redactSecrets(errorMessage(err), secrets) });
    });
    return shutdownPromise;
  };

  return { enabled: true, startSpawn, shutdown };
}

const DEAD_TRACE: SpawnTrace = { traceId: '', generation: () => {}, score: () => {}, end: () => {} };

/**
 * Passes spans to the OTLP exporter and reports failed batches to our logger, so exporter errors
 * never depend on the global OpenTelemetry diag logger (which we leave untouched). The first
 * failure of a streak is a warning; repeats are debug until an export succeeds again.
 */
class LoggingExporter implements SpanExporter {
  private failureStreak = 0;

  constructor(
    private readonly inner: SpanExporter,
    private readonly logger: Logger,
    private readonly redact: (text: string) => string,
  ) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    try {
      this.inner.export(spans, (result) => {
        if (result.code === ExportResultCode.SUCCESS) {
          if (this.failureStreak > 0) this.logger.info('Langfuse export recovered', { failedBatches: this.failureStreak });
          this.failureStreak = 0;
        } else {
          this.failureStreak += 1;
          const fields = { spans: spans.length, error: this.redact(errorMessage(result.error ?? 'unknown error')) };
          if (this.failureStreak === 1) this.logger.warn('Langfuse export failed; these spans are dropped', fields);
          else this.logger.debug('Langfuse export failed again', { ...fields, failedBatches: this.failureStreak });
        }
        resultCallback(result);
      });
    } catch (err) {
      resultCallback({ code: ExportResultCode.FAILED, error: err instanceof Error ? err : new Error(String(err)) });
    }
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

/**
 * The Langfuse SDK logs through a process-wide console logger; its info/debug levels use
 * console.info/console.debug, which write to stdout and would corrupt the MCP stream (they turn
 * on with LANGFUSE_DEBUG=true or LANGFUSE_LOG_LEVEL). This raises that shared logger to WARN
 * (console.warn/error -> stderr). Idempotent, and it only ever makes the logger quieter.
 */
function quietLangfuseSdkLogger(logger: Logger): void {
  const sdkLogger = getGlobalLogger();
  if (sdkLogger.getLevel() < LogLevel.WARN) {
    sdkLogger.setLevel(LogLevel.WARN);
    logger.debug('Langfuse SDK logging raised to WARN: its info/debug output would go to stdout');
  }
}

function prefixed(prefix: string, values: Record<string, unknown>): Attributes {
  const out: Attributes = {};
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined || v === null) continue;
    out[`${prefix}${k}`] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}

function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}…[truncated ${text.length - max} chars]`;
}

function nonNegative(n: number): number {
  return Number.isFinite(n) && n > 0 ? n : 0;
}
