import { availableWarehouses } from './support/warehouses.js';
import { describeDestinationScenarios } from './support/destination-scenarios.js';
import { webhookScenarioFake } from './fakes/webhook-scenario-fake.js';
import { hubspotScenarioFake } from './fakes/hubspot-scenario-fake.js';
import { brazeScenarioFake } from './fakes/braze-scenario-fake.js';
import { mailchimpScenarioFake } from './fakes/mailchimp-scenario-fake.js';
import { iterableScenarioFake } from './fakes/iterable-scenario-fake.js';
import { klaviyoScenarioFake } from './fakes/klaviyo-scenario-fake.js';
import { postgresTableScenarioFake, postgresTableWarehouses } from './fakes/postgres-table-scenario-fake.js';
import { salesforceScenarioFake } from './fakes/salesforce-scenario-fake.js';
import { googleScenarioFake } from './fakes/google-scenario-fake.js';
import { metaScenarioFake } from './fakes/meta-scenario-fake.js';
import { googleDataManagerScenarioFake } from './fakes/google-data-manager-scenario-fake.js';

// The shared scenario set, per destination. Add a line per destination's fake.
const warehouses = await availableWarehouses();
describeDestinationScenarios('webhook', webhookScenarioFake, warehouses);
describeDestinationScenarios('hubspot', hubspotScenarioFake, warehouses);
describeDestinationScenarios('braze', brazeScenarioFake, warehouses);
describeDestinationScenarios('mailchimp', mailchimpScenarioFake, warehouses);
describeDestinationScenarios('iterable', iterableScenarioFake, warehouses);
describeDestinationScenarios('klaviyo', klaviyoScenarioFake, warehouses);
describeDestinationScenarios('postgres_table', postgresTableScenarioFake, postgresTableWarehouses(warehouses));
describeDestinationScenarios('salesforce', salesforceScenarioFake, warehouses);
describeDestinationScenarios('google_customer_match', googleScenarioFake, warehouses);
describeDestinationScenarios('google_customer_match (dataManager)', googleDataManagerScenarioFake, warehouses);
describeDestinationScenarios('meta_custom_audiences', metaScenarioFake, warehouses);
