import { availableWarehouses } from './support/warehouses.js';
import { describeDestinationScenarios } from './support/destination-scenarios.js';
import { postgresTableScenarioFake, postgresTableWarehouses } from './fakes/postgres-table-scenario-fake.js';
import { salesforceScenarioFake } from './fakes/salesforce-scenario-fake.js';
import { googleScenarioFake } from './fakes/google-scenario-fake.js';
import { metaScenarioFake } from './fakes/meta-scenario-fake.js';
import { googleDataManagerScenarioFake } from './fakes/google-data-manager-scenario-fake.js';

// The shared scenario set, per destination (ad platforms, Salesforce and databases; the rest in the other destination-scenarios file,
// split so the two test workers share the load). Add a line per destination's fake.
const warehouses = await availableWarehouses();
describeDestinationScenarios('postgres_table', postgresTableScenarioFake, postgresTableWarehouses(warehouses));
describeDestinationScenarios('salesforce', salesforceScenarioFake, warehouses);
describeDestinationScenarios('google_customer_match', googleScenarioFake, warehouses);
describeDestinationScenarios('google_customer_match (dataManager)', googleDataManagerScenarioFake, warehouses);
describeDestinationScenarios('meta_custom_audiences', metaScenarioFake, warehouses);
