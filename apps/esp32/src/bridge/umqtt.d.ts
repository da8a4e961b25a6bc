// The device bundle under test, as the engine harness imports it (see harness.ts). Which
// exports exist depends on the bundle; engine.ts checks.
declare module 'umqtt';
