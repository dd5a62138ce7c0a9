import type { z } from 'zod';
import type { CreateMessage, ReportProgress } from '../host.js';
import type { AgentService } from '../agents/agentService.js';
import type { AlertingService } from '../alerting/alertingService.js';
import type { Clock } from '../clock.js';
import type { ToolsConfig } from '../configSlices.js';
import type { CostService } from '../cost/costService.js';
import type { TrialStore } from '../eval/trialStore.js';
import type { ImmuneSystem } from '../immune/immuneSystem.js';
import type { DashboardReport, PatternView, StatusReport } from '../immune/report.js';
import type { FailurePredictor } from '../prediction/predictor.js';
import type { ProviderResilience } from '../resilience/providerResilience.js';
import type { BackgroundRuns } from '../runs/backgroundRuns.js';
import type { TaskStore } from '../tasks/taskStore.js';

/**
 * What a tool handler may call: services and stores, never the raw database or its WAL sync
 * (the server syncs before answering). The composition root's AppServices is a superset.
 */
export interface ToolServices {
  /** Only the settings tools read (see ToolsConfig); the composition root keeps the rest. */
  config: ToolsConfig;
  clock: Clock;
  tasks: TaskStore;
  trials: TrialStore;
  cost: CostService;
  healing: ProviderResilience;
  agents: AgentService;
  runs: BackgroundRuns;
  alerting: AlertingService;
  /** The failure predictor (issue 15); state 'absent' until a model is trained. */
  failurePredictor: FailurePredictor;
  /** Failure memory and pre-call guardrails (src/immune). */
  immune: ImmuneSystem;
  /** The immune system's read models (issue 14's reports), bound to the database by the root. */
  immuneReports: ImmuneReports;
}

/** Read-only immune reports, so immune tools need no database handle. */
export interface ImmuneReports {
  patterns(limit: number, patternId?: string): PatternView[];
  status(nowMs: number, periodDays: number): StatusReport;
  dashboard(nowMs: number, periodDays: number): DashboardReport;
}

/**
 * Who asked, for one request. Over stdio the caller is the one client on the pipe; an HTTP
 * transport (team mode) will put the authenticated caller's identity here, so services can later
 * scope work or budgets per caller without new plumbing.
 */
export interface RequestContext {
  /** The JSON-RPC id of the tools/call request. */
  requestId: string | number;
  caller: RequestCaller;
}

export type RequestCaller = { kind: 'stdio-client'; id?: string };

/** The facts about one MCP request a handler may use, with no SDK types leaking into services. */
export interface ToolContext {
  /** This request and its caller (see RequestContext). */
  request: RequestContext;
  /** Aborted when the client cancels the request or the server shuts down. */
  signal: AbortSignal;
  /** True when the client sent a progress token, so progress notifications reach someone. */
  wantsProgress: boolean;
  /** Sends notifications/progress; a no-op when the client did not ask for progress. */
  reportProgress: ReportProgress;
  /** Present when the client declared the sampling capability: asks the host's own model. */
  createMessage: CreateMessage | undefined;
}

export interface ToolAnnotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

/** Tools in the `core` set are the ones a host needs most: agents, tasks, cost. */
export type ToolSet = 'core' | 'extra';

export interface ToolOutput<O> {
  structured: O;
  /** A short human-readable summary for clients that ignore structuredContent. */
  text: string;
}

/** One MCP tool: schemas, truthful annotations, and a thin handler that calls a service. */
export interface ToolDefinition<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  set: ToolSet;
  inputSchema: I;
  outputSchema: O;
  annotations: ToolAnnotations;
  handler(args: z.output<I>, services: ToolServices, ctx: ToolContext): Promise<ToolOutput<z.input<O>>>;
}

/** Identity function that keeps each tool module's types precise while the registry stays uniform. */
export function defineTool<I extends z.ZodObject, O extends z.ZodObject>(def: ToolDefinition<I, O>): ToolDefinition {
  return def as unknown as ToolDefinition;
}
