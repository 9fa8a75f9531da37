import { availableWarehouses } from './support/warehouses.js';
import { describeDestinationScenarios } from './support/destination-scenarios.js';
import { webhookScenarioFake } from './fakes/webhook-scenario-fake.js';
import { hubspotScenarioFake } from './fakes/hubspot-scenario-fake.js';
import { brazeScenarioFake } from './fakes/braze-scenario-fake.js';
import { mailchimpScenarioFake } from './fakes/mailchimp-scenario-fake.js';
import { iterableScenarioFake } from './fakes/iterable-scenario-fake.js';
import { klaviyoScenarioFake } from './fakes/klaviyo-scenario-fake.js';

// The shared scenario set, per destination (webhook, CRMs and ESPs; the rest in the other destination-scenarios file,
// split so the two test workers share the load). Add a line per destination's fake.
const warehouses = await availableWarehouses();
describeDestinationScenarios('webhook', webhookScenarioFake, warehouses);
describeDestinationScenarios('hubspot', hubspotScenarioFake, warehouses);
describeDestinationScenarios('braze', brazeScenarioFake, warehouses);
describeDestinationScenarios('mailchimp', mailchimpScenarioFake, warehouses);
describeDestinationScenarios('iterable', iterableScenarioFake, warehouses);
describeDestinationScenarios('klaviyo', klaviyoScenarioFake, warehouses);
