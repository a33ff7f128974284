// spec/telemetry/otel-harness.ts
// The OpenTelemetry SDK wired for tests: spans into an InMemorySpanExporter (SimpleSpanProcessor,
// BasicTracerProvider), metrics into an InMemoryMetricExporter (PeriodicExportingMetricReader,
// flushed on demand), and an AsyncLocalStorage context manager so child spans find their parent.
import { context, type Attributes } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type DataPoint, type Histogram, type MetricData } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

export interface OtelHarness {
  readonly tracerProvider: BasicTracerProvider;
  readonly meterProvider: MeterProvider;
  /** Every span ended so far. */
  spans(): ReadableSpan[];
  /** Spans named `name`. */
  spansNamed(name: string): ReadableSpan[];
  /** The metrics collected now (cumulative), by instrument name. */
  metrics(): Promise<Map<string, MetricData>>;
  reset(): void;
  shutdown(): Promise<void>;
}

let contextManager: AsyncLocalStorageContextManager | undefined;

/** Registers the context manager once per test file (the API keeps one global). */
function ensureContextManager(): void {
  if (contextManager) return;
  contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
}

export function createOtelHarness(): OtelHarness {
  ensureContextManager();
  const spanExporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] });
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // A long interval: the test flushes when it reads.
  const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    tracerProvider,
    meterProvider,
    spans: () => spanExporter.getFinishedSpans(),
    spansNamed: (name) => spanExporter.getFinishedSpans().filter((span) => span.name === name),
    async metrics() {
      metricExporter.reset();
      await reader.forceFlush();
      const byName = new Map<string, MetricData>();
      for (const resourceMetrics of metricExporter.getMetrics()) {
        for (const scope of resourceMetrics.scopeMetrics) for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric);
      }
      return byName;
    },
    reset: () => spanExporter.reset(),
    async shutdown() {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
}

/** The sum of the data points of a counter whose attributes include `match`. */
export function counterValue(metric: MetricData | undefined, match: Attributes): number {
  if (metric === undefined) return 0;
  return (metric.dataPoints as DataPoint<number>[]).filter((point) => matches(point.attributes, match)).reduce((sum, point) => sum + point.value, 0);
}

/** The number of recordings of a histogram whose attributes include `match`. */
export function histogramCount(metric: MetricData | undefined, match: Attributes): number {
  if (metric === undefined) return 0;
  return (metric.dataPoints as DataPoint<Histogram>[]).filter((point) => matches(point.attributes, match)).reduce((sum, point) => sum + point.value.count, 0);
}

function matches(attributes: Attributes, match: Attributes): boolean {
  return Object.entries(match).every(([key, value]) => attributes[key] === value);
}

/** The parent span id of a span (SDK 2.x: parentSpanContext). */
export function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

/** Every attribute value of every span and metric data point, as strings. */
export function everyRecordedValue(spans: readonly ReadableSpan[], metrics: ReadonlyMap<string, MetricData>): string[] {
  const values: string[] = [];
  const add = (attributes: Attributes) => {
    for (const value of Object.values(attributes)) values.push(Array.isArray(value) ? value.join(' ') : String(value));
  };
  for (const span of spans) {
    values.push(span.name);
    add(span.attributes);
    if (span.status.message) values.push(span.status.message);
    for (const event of span.events) add(event.attributes ?? {});
  }
  for (const metric of metrics.values()) for (const point of metric.dataPoints) add(point.attributes);
  return values;
}
