import type { ModelPrice } from '../config.js';
import type { EventBus } from '../events.js';
import type { Logger } from '../logger.js';
import { PriceTable, nanoCost, normalizeModelName, thinkingReserveTokens, unknownPriceHint } from './prices.js';

/** mcp_sampling runs on the host's own model and subscription: it costs us nothing, by definition. */
const FREE_PROVIDERS: ReadonlySet<string> = new Set(['mcp_sampling']);
const ZERO_PRICE: ModelPrice = { input: 0, output: 0 };

/**
 * Prices as the ledger and budgets apply them: the table, free providers, the fallback for an
 * unknown model (warned about once per model, with a `price.unknown` event), and the worst-case
 * cost a reservation holds before the learned ratio is applied.
 */
export class Pricing {
  readonly table: PriceTable;
  private readonly warnedUnknown = new Set<string>();

  constructor(
    prices: Readonly<Record<string, ModelPrice>>,
    private readonly logger: Logger,
    private readonly events: EventBus,
  ) {
    this.table = new PriceTable(prices);
  }

  isFree(provider: string): boolean {
    return FREE_PROVIDERS.has(provider);
  }

  /** The price a call is booked at; undefined when unknown (mcp_sampling is always 0). */
  priceFor(provider: string, model: string): ModelPrice | undefined {
    if (this.isFree(provider)) return ZERO_PRICE;
    return this.table.lookup(model)?.price;
  }

  /** The price to charge; unknown models get the fallback (most expensive known) and a warning. */
  resolve(provider: string, model: string): { price: ModelPrice; known: boolean } {
    const price = this.priceFor(provider, model);
    if (price) return { price, known: true };
    const key = `${provider}\u0000${normalizeModelName(model)}`;
    if (!this.warnedUnknown.has(key)) {
      this.warnedUnknown.add(key);
      this.logger.warn(unknownPriceHint(provider, model, this.table.fallback), { provider, model });
      this.events.emit('price.unknown', { provider, model });
    }
    return { price: this.table.fallback, known: false };
  }

  /** The name budgets and summaries group by. */
  canonicalModel(provider: string, model: string): string {
    return this.isFree(provider) ? normalizeModelName(model) : this.table.canonicalModel(model);
  }

  /**
   * Worst-case nano-USD of a call before learning: the prompt at the input rate (long tier when
   * it crosses), and at least the model's thinking reserve of output tokens where it bills
   * thinking as output (see thinkingReserveTokens).
   */
  estimateNano(provider: string, model: string, promptTokens: number, maxOutputTokens: number): number {
    const { price } = this.resolve(provider, model);
    const thinking = this.isFree(provider) ? 0 : thinkingReserveTokens(this.canonicalModel(provider, model), this.table.lookup(model) !== undefined);
    return nanoCost(price, { inputTokens: promptTokens, outputTokens: Math.max(maxOutputTokens, thinking) });
  }

  costNano(provider: string, model: string, usage: { inputTokens: number; outputTokens: number }): { nano: number; known: boolean } {
    const { price, known } = this.resolve(provider, model);
    return { nano: nanoCost(price, usage), known };
  }
}
