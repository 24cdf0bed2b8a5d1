// The access a grant gives: LIMITED (product families when a partner asks, products when
// a client grants) or FULL (and whose payment methods pay).
import { useState } from "react";

import { FAMILIES, label } from "../app/viewer";
import type { AccessInput, AccessLevel, PaymentMethods, ProductFamily } from "../generated/graphql";
import { Choice, Choices, type UserError } from "./form";

export interface AccessChoice {
  level: AccessLevel;
  paymentMethods: PaymentMethods | null;
  families: ProductFamily[];
  productIds: string[];
}

export function toInput(choice: AccessChoice, by: "families" | "products"): AccessInput {
  if (choice.level === "FULL") return { level: "FULL", paymentMethods: choice.paymentMethods ?? "CLIENT" };
  return by === "families"
    ? { level: "LIMITED", productFamilies: choice.families }
    : { level: "LIMITED", productIds: choice.productIds };
}

export function useAccess(initial?: Partial<AccessChoice>) {
  return useState<AccessChoice>({
    level: "LIMITED",
    paymentMethods: null,
    families: [],
    productIds: [],
    ...initial,
  });
}

interface Product {
  id: string;
  name: string;
  family: string;
}

export function AccessFields({
  value,
  onChange,
  by,
  products = [],
  errors = [],
  askPaymentMethods = true,
}: {
  value: AccessChoice;
  onChange: (next: AccessChoice) => void;
  by: "families" | "products";
  products?: Product[];
  errors?: UserError[];
  askPaymentMethods?: boolean;
}) {
  return (
    <>
      <Choices legend="Access" name="level" errors={errors}>
        <Choice
          type="radio"
          name="level"
          label="Limited: chosen products"
          checked={value.level === "LIMITED"}
          onChange={() => onChange({ ...value, level: "LIMITED" })}
        />
        <Choice
          type="radio"
          name="level"
          label="Full: the whole organization"
          checked={value.level === "FULL"}
          onChange={() => onChange({ ...value, level: "FULL", paymentMethods: value.paymentMethods ?? "CLIENT" })}
        />
      </Choices>
      {value.level === "LIMITED" && by === "families" && (
        <FamilyChoices value={value.families} onChange={(families) => onChange({ ...value, families })} errors={errors} />
      )}
      {value.level === "LIMITED" && by === "products" && (
        <Choices legend="Products" name="productIds" errors={errors}>
          {products.length === 0 && <p>No products yet.</p>}
          {products.map((product) => (
            <Choice
              key={product.id}
              type="checkbox"
              label={`${product.name} (${label(product.family)})`}
              checked={value.productIds.includes(product.id)}
              onChange={() => onChange({ ...value, productIds: toggle(value.productIds, product.id) })}
            />
          ))}
        </Choices>
      )}
      {value.level === "FULL" && askPaymentMethods && (
        <Choices legend="Payment methods" name="paymentMethods" errors={errors}>
          <Choice
            type="radio"
            name="paymentMethods"
            label="The client's: the client pays, invoices stay with the client"
            checked={value.paymentMethods === "CLIENT"}
            onChange={() => onChange({ ...value, paymentMethods: "CLIENT" })}
          />
          <Choice
            type="radio"
            name="paymentMethods"
            label="The partner's: the partner pays its orders, at its discount"
            checked={value.paymentMethods === "PARTNER"}
            onChange={() => onChange({ ...value, paymentMethods: "PARTNER" })}
          />
        </Choices>
      )}
    </>
  );
}

export function toggle<T extends string>(list: T[], item: T): T[] {
  return list.includes(item) ? list.filter((x) => x !== item) : [...list, item];
}

/** Product families as checkboxes (a partner's request, a listing, a bid). */
export function FamilyChoices({
  value,
  onChange,
  errors = [],
}: {
  value: ProductFamily[];
  onChange: (families: ProductFamily[]) => void;
  errors?: UserError[];
}) {
  return (
    <Choices legend="Product families" name="productFamilies" errors={errors}>
      {FAMILIES.map((family) => (
        <Choice
          key={family}
          type="checkbox"
          label={label(family)}
          checked={value.includes(family)}
          onChange={() => onChange(toggle(value, family))}
        />
      ))}
    </Choices>
  );
}
