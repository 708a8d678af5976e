import { ashbyProvider } from "./ashby/ashby.provider.js";
import { bloodhoundProvider } from "./bloodhound/bloodhound.provider.js";
import { logfireProvider } from "./logfire/logfire.provider.js";
import type { ProviderDefinition, ProviderName } from "./provider.types.js";
import { pylonProvider } from "./pylon/pylon.provider.js";
import { zendeskProvider } from "./zendesk/zendesk.provider.js";

/** Every simulated provider, by name. */
const PROVIDER_DEFINITIONS = {
  pylon: pylonProvider,
  zendesk: zendeskProvider,
  ashby: ashbyProvider,
  logfire: logfireProvider,
  bloodhound: bloodhoundProvider,
} as const satisfies { [P in ProviderName]: ProviderDefinition<P> };

export function providerDefinition<P extends ProviderName>(name: P): ProviderDefinition<P> {
  // The `satisfies` above guarantees each entry matches its own name.
  return PROVIDER_DEFINITIONS[name] as unknown as ProviderDefinition<P>;
}
