// lib/endpoint/validate-parameters.ts
// Validates a grant's declared parameters (cheap, declarative) and optional class-validator DTO.
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { OAuthError } from '../contracts/errors';
import type { FormParameters } from './read-form';
import type { GrantParameters, ParameterSpecs, ParamsDtoClass } from '../contracts/grant';

/** Default longest value for a declared parameter (per-field cap before hashing/lookup). */
export const DEFAULT_MAX_PARAMETER_LENGTH = 2048;

/** A strategy's parameter rules prepared once at router creation. */
export interface CompiledParameters {
  readonly names: readonly string[];
  readonly specs: ParameterSpecs;
}

export function compileParameters(specs: ParameterSpecs): CompiledParameters {
  return { names: Object.keys(specs), specs };
}

/**
 * Copies the declared parameters out of the form and checks presence, length and pattern.
 * Throws 400 invalid_request naming the parameter (never echoing its value).
 */
export function pickParameters(form: FormParameters, compiled: CompiledParameters): GrantParameters {
  const out: Record<string, string | undefined> = {};
  for (const name of compiled.names) {
    const spec = compiled.specs[name];
    const value = form[name];
    if (value === undefined) {
      if (spec.required) throw new OAuthError('invalid_request', `The ${name} parameter is required.`);
      continue;
    }
    if (value.length > (spec.maxLength ?? DEFAULT_MAX_PARAMETER_LENGTH)) {
      throw new OAuthError('invalid_request', `The ${name} parameter is too long.`);
    }
    if (spec.pattern && !spec.pattern.test(value)) {
      throw new OAuthError('invalid_request', `The ${name} parameter is malformed${spec.patternDescription ? ` (expected ${spec.patternDescription})` : ''}.`);
    }
    out[name] = value;
  }
  return out;
}

/** Runs the strategy's class-validator DTO, if it has one. */
export async function validateDto(strategy: { readonly paramsDto?: ParamsDtoClass }, params: GrantParameters): Promise<object | undefined> {
  if (!strategy.paramsDto) return undefined;
  const instance = plainToInstance(strategy.paramsDto, { ...params });
  const errors = await validate(instance, { whitelist: true, forbidUnknownValues: true, validationError: { target: false, value: false } });
  if (errors.length > 0) {
    const first = errors[0];
    const constraint = first.constraints ? Object.values(first.constraints)[0] : undefined;
    throw new OAuthError('invalid_request', `The ${first.property} parameter is invalid${constraint ? `: ${constraint}` : ''}.`);
  }
  return instance;
}
