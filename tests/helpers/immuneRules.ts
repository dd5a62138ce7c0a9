import { promptOf, systemOf, type BehaviourFn, type OkBehaviour, type RecordedRequest } from './geminiEmulator.js';

/**
 * A failure rule for the Gemini emulator that the immune system can learn from (used by the
 * immune tests and bench). Two classes of prompt fail, the rest pass:
 *  - extraction from invoices/receipts/orders: the model wraps its JSON in chatty prose (fails
 *    json_valid) unless the prompt or system text asks for "JSON only";
 *  - summaries of contracts/leases/clauses: the cheapest tier answers without the obligations
 *    (fails contains "Obligations") whatever the prompt says; any higher tier includes them.
 */
export const EXTRACTION_CLASS = /\b(invoices?|receipts?|purchase orders?|bills?)\b/i;
export const CONTRACT_CLASS = /\b(contracts?|leases?|clauses?|agreements?|tenancy|indemnit\w*)\b/i;
export const CHEAP_TIER = 'gemini-2.5-flash-lite';

export interface RuleCounts {
  extraction: number;
  contract: number;
  other: number;
}

export function learningRule(counts: RuleCounts = { extraction: 0, contract: 0, other: 0 }): BehaviourFn {
  return (req: RecordedRequest): OkBehaviour => {
    const prompt = promptOf(req);
    const text = `${systemOf(req) ?? ''}\n${prompt}`;
    if (EXTRACTION_CLASS.test(prompt)) {
      counts.extraction += 1;
      const json = '{"vendor":"ACME","total":120.5,"due":"2026-02-01"}';
      return { kind: 'ok', text: /json only/i.test(text) ? json : `Sure! Here is what I found in the document:\n${json}\nLet me know if you need anything else.` };
    }
    if (CONTRACT_CLASS.test(prompt)) {
      counts.contract += 1;
      return {
        kind: 'ok',
        text: req.model === CHEAP_TIER ? 'This clause is about the parties and the property.' : 'Obligations: the tenant pays rent monthly; the landlord maintains the roof. Summary: a standard lease clause.',
      };
    }
    counts.other += 1;
    return { kind: 'ok', text: `Here you go: ${prompt.slice(0, 80)}` };
  };
}
