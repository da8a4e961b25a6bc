// Bundle: a QoS 0/1/2 publisher and subscriber on one MQTT 3.1.1 connection (@umqtt/simple,
// maxPacketSize 8 KiB by default), with the Moddable socket and timer adapters.
export { MqttClient } from '../device/defaults.js';
export { tcpSocketFactory, moddableTimers } from '../device/index.js';
