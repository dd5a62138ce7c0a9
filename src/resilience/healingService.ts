/**
 * The resilience layer's former name, kept only so src/agents (being refactored in parallel)
 * compiles unchanged; new code imports ProviderResilience from providerResilience.ts. Delete
 * once nothing imports it.
 */
export { ProviderResilience as HealingService } from './providerResilience.js';
