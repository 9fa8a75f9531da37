import { availableWarehouses } from './support/warehouses.js';
import { describeDestinationScenarios } from './support/destination-scenarios.js';
import { webhookScenarioFake } from './fakes/webhook-scenario-fake.js';

// The shared scenario set, per destination. Add a line per destination's fake.
const warehouses = await availableWarehouses();
describeDestinationScenarios('webhook', webhookScenarioFake, warehouses);
